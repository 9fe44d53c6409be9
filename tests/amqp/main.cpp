// RabbitMQ bridge tests against a real broker started once by this executable (global
// fixture, see amqp_fixture.hpp); each case uses fresh queues and exchanges.
#define BOOST_TEST_MODULE aggregator_amqp
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "amqp_fixture.hpp"
#include "ignore_sigpipe.hpp"

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);
using agg::test::broker_fixture;
BOOST_TEST_GLOBAL_FIXTURE(broker_fixture);
