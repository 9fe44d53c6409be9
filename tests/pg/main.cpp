// PostgreSQL store tests against a real PostgreSQL 15 server started by the suite itself
// (pg_server): several aggregator nodes on one database, and the store's commit notices.
#define BOOST_TEST_MODULE aggregator_pg
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "ignore_sigpipe.hpp"

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);
