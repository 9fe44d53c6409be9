// Black-box tests of the aggregator binary over HTTP (see CONTRACT.md). Each test case
// starts the real binary on 127.0.0.1:0 with a SQLite file in a fresh temp folder.
#define BOOST_TEST_MODULE aggregator_http
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "ignore_sigpipe.hpp"

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);
