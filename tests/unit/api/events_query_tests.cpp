#include "api/events_query.hpp"

#include <boost/test/unit_test.hpp>

using agg::api::parse_events_query;

BOOST_AUTO_TEST_SUITE(events_query)

BOOST_AUTO_TEST_CASE(defaults) {
  const auto q = parse_events_query("");
  BOOST_TEST(q.error.empty());
  BOOST_TEST(!q.topic.has_value());
  BOOST_TEST(q.after == 0);
  BOOST_TEST(q.limit == 1000);
}

BOOST_AUTO_TEST_CASE(values_decoded) {
  const auto q = parse_events_query("topic=order%2Epaid&after=977&limit=10000&other=x");
  BOOST_TEST(q.error.empty());
  BOOST_TEST(*q.topic == "order.paid");
  BOOST_TEST(q.after == 977);
  BOOST_TEST(q.limit == 10000);
  BOOST_TEST(*parse_events_query("topic=a+b").topic == "a b");
  BOOST_TEST(parse_events_query("limit=5&limit=7").limit == 7);
}

BOOST_AUTO_TEST_CASE(bad_values) {
  const std::string limit = "limit must be an integer from 1 to 10000";
  const std::string after = "after must be a non-negative integer sequence number";
  BOOST_TEST(parse_events_query("limit=0").error == limit);
  BOOST_TEST(parse_events_query("limit=10001").error == limit);
  BOOST_TEST(parse_events_query("limit=").error == limit);
  BOOST_TEST(parse_events_query("limit=1.5").error == limit);
  BOOST_TEST(parse_events_query("after=-1").error == after);
  BOOST_TEST(parse_events_query("after=abc").error == after);
  BOOST_TEST(parse_events_query("after=99999999999999999999").error == after);
  BOOST_TEST(parse_events_query("topic=").error == "topic must not be empty");
  BOOST_TEST(parse_events_query("topic=%zz").error ==
             "malformed percent-encoding in the query string");
  BOOST_TEST(parse_events_query("topic=%4").error ==
             "malformed percent-encoding in the query string");
}

BOOST_AUTO_TEST_SUITE_END()
