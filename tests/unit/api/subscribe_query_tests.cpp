#include "api/subscribe_query.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using agg::api::parse_subscribe_query;
using strings = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(subscribe_query)

BOOST_AUTO_TEST_CASE(defaults_every_topic_from_latest) {
  const auto q = parse_subscribe_query("", std::nullopt);
  BOOST_TEST(q.error.empty());
  BOOST_TEST(!q.after.has_value());
  BOOST_TEST(q.filter.all());
  BOOST_TEST(q.filter.matches("anything"));
}

BOOST_AUTO_TEST_CASE(after_seq_latest_and_last_event_id_wins) {
  BOOST_TEST(*parse_subscribe_query("after=0", std::nullopt).after == 0);
  BOOST_TEST(*parse_subscribe_query("after=977", std::nullopt).after == 977);
  BOOST_TEST(!parse_subscribe_query("after=5&after=latest", std::nullopt).after.has_value());
  BOOST_TEST(*parse_subscribe_query("after=5", std::string_view("12")).after == 12);
  BOOST_TEST(*parse_subscribe_query("after=latest", std::string_view("0")).after == 0);
}

BOOST_AUTO_TEST_CASE(topics_exact_prefix_repeated_and_star) {
  const auto q =
      parse_subscribe_query("topic=order.*&topic=user.created&topic=a%20b*", std::nullopt);
  BOOST_TEST(q.error == "topic must not contain whitespace or control characters");
  const auto f =
      parse_subscribe_query("topic=user.created&topic=order.*&topic=user.created", std::nullopt)
          .filter;
  BOOST_TEST(f.exact == strings{"user.created"});
  BOOST_TEST(f.prefixes == strings{"order."});
  BOOST_TEST(f.matches("order.paid"));
  BOOST_TEST(f.matches("user.created"));
  BOOST_TEST(!f.matches("orders"));
  BOOST_TEST(!f.matches("user.created2"));
  BOOST_TEST(!f.single_topic().has_value());
  const auto one = parse_subscribe_query("topic=a.b", std::nullopt).filter;
  BOOST_TEST(*one.single_topic() == "a.b");
  const auto star = parse_subscribe_query("topic=x&topic=*", std::nullopt).filter;
  BOOST_TEST(star.all());
  // '*' inside a topic is part of an exact name.
  BOOST_TEST(parse_subscribe_query("topic=a*b", std::nullopt).filter.exact == strings{"a*b"});
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_parameter) {
  auto err = [](std::string_view q, std::optional<std::string_view> id = std::nullopt) {
    return parse_subscribe_query(q, id).error;
  };
  BOOST_TEST(err("after=-1") == "after must be a non-negative integer sequence number or 'latest'");
  BOOST_TEST(err("after=") == "after must be a non-negative integer sequence number or 'latest'");
  BOOST_TEST(err("after=1e3") ==
             "after must be a non-negative integer sequence number or 'latest'");
  BOOST_TEST(err("topic=") == "topic must not be empty");
  BOOST_TEST(err("topic=%FF") == "topic must be UTF-8");
  BOOST_TEST(err("topic=%ZZ") == "malformed percent-encoding in the query string");
  BOOST_TEST(err("", std::string_view("abc")) ==
             "Last-Event-ID must be a non-negative integer sequence number");
  BOOST_TEST(err("", std::string_view("")) ==
             "Last-Event-ID must be a non-negative integer sequence number");
  BOOST_TEST(err("topic=" + std::string(256, 'a')).rfind("topic ", 0) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
