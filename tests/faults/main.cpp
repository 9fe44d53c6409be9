// Fault-injection tests of the aggregator binary (issue 4): hostile HTTP, overload, storage
// faults, kill -9 and SIGTERM under load. Black-box, on the tests/http/ harness; every case
// starts the real binary on 127.0.0.1:0 with its database in a fresh temp folder.
#define BOOST_TEST_MODULE aggregator_faults
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "ignore_sigpipe.hpp"

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);
