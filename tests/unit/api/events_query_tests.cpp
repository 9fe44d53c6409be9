#include "api/events_query.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

using agg::api::decoded_params;
using agg::api::parse_events_query;
using pairs = std::vector<std::pair<std::string, std::string>>;

BOOST_AUTO_TEST_SUITE(events_query)

BOOST_AUTO_TEST_CASE(defaults) {
  const auto q = parse_events_query("");
  BOOST_TEST(q.error.empty());
  BOOST_TEST(!q.topic.has_value());
  BOOST_TEST(q.after == 0);
  BOOST_TEST(q.limit == 1000);
  BOOST_TEST(q.wait == 0);
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

BOOST_AUTO_TEST_CASE(wait_seconds) {
  const std::string wait = "wait must be an integer number of seconds from 0 to 60";
  BOOST_TEST(parse_events_query("wait=0").wait == 0);
  BOOST_TEST(parse_events_query("wait=60").wait == 60);
  BOOST_TEST(parse_events_query("topic=t&wait=15&after=3").wait == 15);
  BOOST_TEST(parse_events_query("wait=5&wait=7").wait == 7);
  BOOST_TEST(parse_events_query("wait=60").error.empty());
  BOOST_TEST(parse_events_query("wait=61").error == wait);
  BOOST_TEST(parse_events_query("wait=-1").error == wait);
  BOOST_TEST(parse_events_query("wait=").error == wait);
  BOOST_TEST(parse_events_query("wait").error == wait);
  BOOST_TEST(parse_events_query("wait=1.5").error == wait);
  BOOST_TEST(parse_events_query("wait=abc").error == wait);
}

BOOST_AUTO_TEST_CASE(more_decoding) {
  BOOST_TEST(*parse_events_query("topic=a%2Bb").topic == "a+b");
  BOOST_TEST(*parse_events_query("topic=a%20b%25").topic == "a b%");
  BOOST_TEST(*parse_events_query("top%69c=x").topic == "x");
  BOOST_TEST(*parse_events_query("topic=a=b").topic == "a=b");
  BOOST_TEST(*parse_events_query("&&topic=x&&").topic == "x");
  BOOST_TEST(*parse_events_query("topic=x&topic=y").topic == "y");
  // Bytes a strict URL query does not allow are taken as they are.
  BOOST_TEST(*parse_events_query("topic=caf\xc3\xa9").topic == "caf\xc3\xa9");
  BOOST_TEST(*parse_events_query("topic=a[1]|{b}\"#").topic == "a[1]|{b}\"#");
  BOOST_TEST(parse_events_query("topic=\xc3%zz").error ==
             "malformed percent-encoding in the query string");
  BOOST_TEST(parse_events_query("x=%&topic=a").error ==
             "malformed percent-encoding in the query string");
  BOOST_TEST(parse_events_query("limit").error == "limit must be an integer from 1 to 10000");
  BOOST_TEST(parse_events_query("topic").error == "topic must not be empty");
}

BOOST_AUTO_TEST_CASE(decoded_params_keep_order_and_repeats) {
  const auto p = decoded_params("topic=a&topic=order.*&after=latest&x&=v&k=&+=%2B&&");
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST((*p == pairs{{"topic", "a"},
                          {"topic", "order.*"},
                          {"after", "latest"},
                          {"x", ""},
                          {"", "v"},
                          {"k", ""},
                          {" ", "+"}}));
  BOOST_TEST(decoded_params("")->empty());
  BOOST_TEST((*decoded_params("t=a%26b%3Dc") == pairs{{"t", "a&b=c"}}));
  BOOST_TEST((*decoded_params("t=%e2%82%ac+x") == pairs{{"t", "\xe2\x82\xac x"}}));
  BOOST_TEST((*decoded_params("t=\xe2\x82\xac|") == pairs{{"t", "\xe2\x82\xac|"}}));
  BOOST_TEST(decoded_params("t=%zz").has_error());
  BOOST_TEST(decoded_params("t=%4").has_error());
  BOOST_TEST(decoded_params("%=1").has_error());
}

// The query is a view into the request line, so it is neither NUL-terminated nor, when
// absent, backed by any memory at all.
BOOST_AUTO_TEST_CASE(only_the_bytes_of_the_view_are_read) {
  const std::string request_line = "GET /events?after=0&limit=1000 HTTP/1.1\r\n";
  const std::string_view query = std::string_view(request_line).substr(12, 18);
  BOOST_TEST(query == "after=0&limit=1000");
  BOOST_TEST((*decoded_params(query) == pairs{{"after", "0"}, {"limit", "1000"}}));
  BOOST_TEST(parse_events_query(query).limit == 1000);
  BOOST_TEST(parse_events_query(query).error.empty());
  BOOST_TEST(decoded_params(std::string_view())->empty());
  BOOST_TEST(parse_events_query(std::string_view()).error.empty());
  BOOST_TEST((*decoded_params(std::string_view("a=1\0&b=2", 8)) ==
              pairs{{"a", std::string("1\0", 2)}, {"b", "2"}}));
}

BOOST_AUTO_TEST_SUITE_END()
