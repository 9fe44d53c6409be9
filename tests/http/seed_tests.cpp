// The original aggregator's own test table, over the real binary: publish, duplicate
// detection, persistence across a restart, stats values, and 1000 events with 20%
// duplicates (its time is printed, never asserted).
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace agg::test;

BOOST_AUTO_TEST_SUITE(seed)

BOOST_AUTO_TEST_CASE(publish_stores_the_event) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto const ev = make_event("order.paid", "5f0c2a4e-6c1b-4c59-9c55-0d5e2b1f7a10",
                             {{"order", 1042}, {"amount", 42.5}}, "2026-11-24T10:15:00.123Z",
                             "billing-service");
  auto seq = check_publish(c.post_json("/publish", single_body(ev)), 1, 1, 0,
                           {{"order.paid", "5f0c2a4e-6c1b-4c59-9c55-0d5e2b1f7a10", "accepted"}});
  auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  auto e = events[0];
  BOOST_TEST(as_int(at(e, "seq")) == seq[0]);
  BOOST_TEST(is_rfc3339_utc_like(as_string(at(e, "received_at"))));
  e.erase("seq");
  e.erase("received_at");
  BOOST_TEST((json::value(e) == json::value(ev)), to_text(e) << " == " << to_text(ev));
}

BOOST_AUTO_TEST_CASE(duplicate_is_detected) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto const ev = make_event("user.created", "u-1");
  auto s1 = check_publish(c.post_json("/publish", single_body(ev)), 1, 1, 0,
                          {{"user.created", "u-1", "accepted"}});
  auto s2 = check_publish(c.post_json("/publish", single_body(ev)), 1, 0, 1,
                          {{"user.created", "u-1", "duplicate"}});
  BOOST_TEST(s2 == s1);
  BOOST_TEST(fetch_all_events(c).size() == 1u);
  check_stats(get_stats(c), {2, 1, 1, 0, {{"user.created", 1}}});
}

BOOST_AUTO_TEST_CASE(dedup_store_persists_across_restart) {
  server_process srv;
  log_on_failure guard(srv);
  auto const ev = make_event("user.created", "u-1");
  {
    auto c = make_client(srv);
    check_publish(c.post_json("/publish", single_body(ev)), 1, 1, 0,
                  {{"user.created", "u-1", "accepted"}});
  }
  srv.restart();
  BOOST_TEST(srv.last_exit().clean(), srv.last_exit());
  auto c = make_client(srv);
  check_publish(c.post_json("/publish", single_body(ev)), 1, 0, 1,
                {{"user.created", "u-1", "duplicate"}});
  BOOST_TEST(fetch_all_events(c).size() == 1u);
  check_stats(get_stats(c), {2, 1, 1, 0, {{"user.created", 1}}});
}

BOOST_AUTO_TEST_CASE(stats_values) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  check_publish(
      c.post_json("/publish",
                  array_body({make_event("order.paid", "a"), make_event("order.paid", "b"),
                              make_event("user.created", "c"), make_event("order.paid", "a"),
                              make_event("user.created", "c")})),
      5, 3, 2,
      {{"order.paid", "a", "accepted"},
       {"order.paid", "b", "accepted"},
       {"user.created", "c", "accepted"},
       {"order.paid", "a", "duplicate"},
       {"user.created", "c", "duplicate"}});
  auto s = get_stats(c);
  check_stats(s, {5, 3, 2, 0, {{"order.paid", 2}, {"user.created", 1}}});
  BOOST_TEST(at(s, "uptime").is_number());
  BOOST_TEST(is_rfc3339_utc_like(as_string(at(s, "started_at"))));
}

BOOST_AUTO_TEST_CASE(thousand_events_with_20_percent_duplicates) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  // 800 distinct events over 4 topics, then 200 of them again, shuffled; one request each.
  std::vector<json::object> sends;
  for (int i = 0; i < 800; ++i)
    sends.push_back(
        make_event("perf." + std::to_string(i % 4), "p-" + std::to_string(i), {{"i", i}}));
  for (int i = 0; i < 200; ++i) sends.push_back(sends[static_cast<std::size_t>(i * 4 + 1)]);
  std::shuffle(sends.begin(), sends.end(), std::mt19937(42));

  std::int64_t accepted = 0, duplicates = 0;
  std::size_t failures = 0;
  auto const t0 = std::chrono::steady_clock::now();
  for (auto const& ev : sends) {
    auto r = c.post_json("/publish", single_body(ev));
    if (r.status != 200) {
      ++failures;
      continue;
    }
    auto const doc = r.json();
    accepted += as_int(at(as_object(doc), "accepted"));
    duplicates += as_int(at(as_object(doc), "duplicates"));
  }
  double const secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE(
      "1000 events (20% duplicates), one request each over one keep-alive connection: " << secs
                                                                                        << " s");
  BOOST_TEST(failures == 0u);
  BOOST_TEST(accepted == 800);
  BOOST_TEST(duplicates == 200);
  BOOST_TEST(fetch_all_events(c).size() == 800u);
  check_stats(
      get_stats(c),
      {1000, 800, 200, 0, {{"perf.0", 200}, {"perf.1", 200}, {"perf.2", 200}, {"perf.3", 200}}});
}

BOOST_AUTO_TEST_SUITE_END()
