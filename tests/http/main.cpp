// Black-box tests of the aggregator binary over HTTP (see CONTRACT.md). Each test case
// starts the real binary on 127.0.0.1:0 with a SQLite file in a fresh temp folder.
#define BOOST_TEST_MODULE aggregator_http
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <csignal>

namespace {

// A write to a socket the server has closed must be an error code, not a signal that
// ends the test run (Asio uses MSG_NOSIGNAL already; this covers everything else).
struct ignore_sigpipe {
  ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);
