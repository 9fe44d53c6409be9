// GET /events: order, topic filter, after/limit paging, empty pages, bad query values.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace agg::test;

namespace {

// Publishes `n` events, topic "beta" when i % 3 == 0 and "alpha" otherwise, in
// batches of 5; returns their seqs in publish order.
std::vector<std::int64_t> publish_alternating(http_client& c, int n) {
  std::vector<std::int64_t> seqs;
  for (int base = 0; base < n; base += 5) {
    std::vector<json::object> batch;
    std::vector<expected_result> want;
    for (int i = base; i < std::min(n, base + 5); ++i) {
      std::string topic = i % 3 == 0 ? "beta" : "alpha";
      std::string id = "ev-" + std::to_string(i);
      batch.push_back(make_event(topic, id, {{"i", i}}));
      want.push_back({topic, id, "accepted"});
    }
    auto s = check_publish(c.post_json("/publish", array_body(batch)),
                           static_cast<std::int64_t>(batch.size()),
                           static_cast<std::int64_t>(batch.size()), 0, want);
    seqs.insert(seqs.end(), s.begin(), s.end());
  }
  return seqs;
}

struct page {
  std::int64_t count = -1;
  json::value next_after;
  std::vector<json::object> events;
};

page get_page(http_client& c, std::string const& target) {
  auto r = c.get(target);
  BOOST_TEST_REQUIRE(r.status == 200u, target << " -> " << r.status << " " << r.body);
  BOOST_TEST(is_json_content_type(r));
  auto const doc = r.json();
  auto const& o = as_object(doc);
  page p;
  p.count = as_int(at(o, "count"));
  p.next_after = at(o, "next_after");
  for (auto const& e : as_array(at(o, "events"))) p.events.push_back(as_object(e));
  BOOST_TEST(p.count == static_cast<std::int64_t>(p.events.size()),
             target << ": count == events.size()");
  if (p.events.empty()) {
    BOOST_TEST(p.next_after.is_null(), target << ": next_after null on an empty page");
  } else {
    BOOST_TEST(as_int(p.next_after) == as_int(at(p.events.back(), "seq")),
               target << ": next_after is the last seq");
  }
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(events_query)

BOOST_AUTO_TEST_CASE(default_query_returns_everything_in_seq_order) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto seqs = publish_alternating(c, 25);
  auto p = get_page(c, "/events");
  BOOST_TEST_REQUIRE(p.events.size() == 25u);
  for (std::size_t i = 0; i < 25; ++i) {
    auto const& e = p.events[i];
    BOOST_TEST_CONTEXT("event " << to_text(e)) {
      BOOST_TEST(as_int(at(e, "seq")) == seqs[i]);
      BOOST_TEST(as_string(at(e, "event_id")) == "ev-" + std::to_string(i));
      BOOST_TEST(as_string(at(e, "topic")) == (i % 3 == 0 ? "beta" : "alpha"));
      BOOST_TEST(as_string(at(e, "timestamp")) == std::string(default_timestamp));
      BOOST_TEST(as_string(at(e, "source")) == std::string(default_source));
      BOOST_TEST(
          (at(e, "payload") == json::value(json::object{{"i", static_cast<std::int64_t>(i)}})));
      BOOST_TEST(is_rfc3339_utc_like(as_string(at(e, "received_at"))));
    }
  }
  BOOST_TEST(as_int(p.next_after) == seqs.back());
}

BOOST_AUTO_TEST_CASE(after_limit_paging_visits_every_event_exactly_once) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto seqs = publish_alternating(c, 25);

  for (std::string topic : {"", "alpha", "beta"}) {
    for (int limit : {1, 3, 7, 25, 1000}) {
      BOOST_TEST_CONTEXT("topic '" << topic << "' limit " << limit) {
        std::vector<std::int64_t> want;
        for (std::size_t i = 0; i < seqs.size(); ++i) {
          std::string t = i % 3 == 0 ? "beta" : "alpha";
          if (topic.empty() || topic == t) want.push_back(seqs[i]);
        }
        std::vector<std::int64_t> got;
        std::int64_t after = 0;
        int pages = 0;
        for (;;) {
          std::string target =
              "/events?limit=" + std::to_string(limit) + "&after=" + std::to_string(after);
          if (!topic.empty()) target += "&topic=" + topic;
          auto p = get_page(c, target);
          BOOST_TEST(p.events.size() <= static_cast<std::size_t>(limit));
          if (p.events.empty()) break;
          for (auto const& e : p.events) {
            got.push_back(as_int(at(e, "seq")));
            if (!topic.empty()) BOOST_TEST(as_string(at(e, "topic")) == topic);
          }
          after = as_int(p.next_after);
          BOOST_TEST_REQUIRE(++pages < 100);
        }
        BOOST_TEST(got == want, boost::test_tools::per_element());
        std::size_t const full_pages = want.size() / static_cast<std::size_t>(limit);
        std::size_t const expected_pages =
            full_pages + (want.size() % static_cast<std::size_t>(limit) ? 1 : 0);
        BOOST_TEST(static_cast<std::size_t>(pages) == expected_pages);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(empty_pages_and_unknown_topic) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto const empty = parse_json(R"({"count":0,"events":[],"next_after":null})");

  auto r = c.get("/events");
  BOOST_TEST(r.status == 200u);
  BOOST_TEST((r.json() == empty), r.body);

  auto seqs = publish_alternating(c, 5);
  r = c.get("/events?topic=no.such.topic");
  BOOST_TEST(r.status == 200u);
  BOOST_TEST((r.json() == empty), r.body);

  r = c.get("/events?after=" + std::to_string(seqs.back()));
  BOOST_TEST(r.status == 200u);
  BOOST_TEST((r.json() == empty), r.body);

  r = c.get("/events?topic=alpha&after=" + std::to_string(seqs.back() + 1000));
  BOOST_TEST(r.status == 200u);
  BOOST_TEST((r.json() == empty), r.body);
}

BOOST_AUTO_TEST_CASE(limit_bounds_are_inclusive) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  publish_alternating(c, 5);
  BOOST_TEST(get_page(c, "/events?limit=1").events.size() == 1u);
  BOOST_TEST(get_page(c, "/events?limit=10000").events.size() == 5u);
  BOOST_TEST(get_page(c, "/events?after=0&limit=2").events.size() == 2u);
}

BOOST_AUTO_TEST_CASE(default_limit_is_1000) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::vector<json::object> batch;
  for (int i = 0; i < 1001; ++i) batch.push_back(make_event("many", "m" + std::to_string(i)));
  auto r = c.post_json("/publish", array_body(batch));
  BOOST_TEST_REQUIRE(r.status == 200u, r.body.substr(0, 300));
  auto p = get_page(c, "/events");
  BOOST_TEST(p.events.size() == 1000u);
  auto rest = get_page(c, "/events?after=" + std::to_string(as_int(p.next_after)));
  BOOST_TEST(rest.events.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_query_values_are_400) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  publish_alternating(c, 5);
  for (char const* q :
       {"limit=0", "limit=10001", "limit=-5", "limit=abc", "limit=1.5", "after=-1", "after=abc",
        "after=1.5", "limit=99999999999999999999", "after=99999999999999999999999"}) {
    BOOST_TEST_CONTEXT("GET /events?" << q) {
      check_error(c.get(std::string("/events?") + q), 400, "bad_query");
    }
  }
}

BOOST_AUTO_TEST_CASE(topic_filter_is_percent_decoded) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::string const topic = "p\u00e4id/x:y";  // UTF-8 and reserved characters, no whitespace
  check_publish(
      c.post_json("/publish", array_body({make_event(topic, "1"), make_event("other", "2")})), 2, 2,
      0, {{topic, "1", "accepted"}, {"other", "2", "accepted"}});
  auto p = get_page(c, "/events?topic=" + url_encode(topic));
  BOOST_TEST_REQUIRE(p.events.size() == 1u);
  BOOST_TEST(as_string(at(p.events[0], "topic")) == topic);
}

BOOST_AUTO_TEST_SUITE_END()
