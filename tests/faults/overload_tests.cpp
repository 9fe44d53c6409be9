// Overload: a tiny intake queue in front of slow commits (--sync full, small batches) under
// many concurrent publishers. Refused requests are 503 overloaded with Retry-After and store
// nothing; admitted ones are all 200; a retrying publisher ends with every event stored once.
#define BOOST_TEST_DYN_LINK
#include "fault_support.hpp"

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

using namespace agg::test;
using namespace agg::test::faults;
using namespace std::chrono_literals;

namespace {

server_config slow_small_queue() {
  server_config cfg;
  cfg.args = {"--queue-capacity", "8",    "--batch-max", "2", "--linger-ms", "0",
              "--sync",           "full", "--threads",   "2"};
  return cfg;
}

std::string topic_for(std::size_t n) {
  return "overload." + std::to_string(n % 3);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(overload)

BOOST_AUTO_TEST_CASE(full_queue_is_503_with_retry_after_and_stores_nothing_of_it) {
  server_process srv(slow_small_queue());
  log_on_failure guard(srv);
  constexpr std::size_t threads = 24, requests = 15, per_request = 3;
  std::mutex mu;
  std::set<event_key> acked, refused;
  std::size_t ok = 0, overloaded = 0;
  std::vector<std::string> unexpected;
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto c = make_client(srv, 30s);
      for (std::size_t r = 0; r < requests; ++r) {
        std::vector<json::object> events;
        std::vector<event_key> keys;
        for (std::size_t i = 0; i < per_request; ++i) {
          const auto n = (t * requests + r) * per_request + i;
          keys.emplace_back(topic_for(n), "e" + std::to_string(n));
          events.push_back(make_event(keys.back().first, keys.back().second));
        }
        http_response res;
        const auto ec =
            c.try_request(boost::beast::http::verb::post, "/publish", array_body(events),
                          {{"Content-Type", "application/json"}}, res);
        std::lock_guard lk(mu);
        if (ec) {
          unexpected.push_back("I/O error " + ec.message());
        } else if (res.status == 200) {
          ++ok;
          acked.insert(keys.begin(), keys.end());
        } else if (res.status == 503 &&
                   res.header("Retry-After") == std::optional<std::string>("1") &&
                   res.body.find("\"overloaded\"") != std::string::npos) {
          ++overloaded;
          refused.insert(keys.begin(), keys.end());
        } else {
          unexpected.push_back(std::to_string(res.status) + " " + res.body.substr(0, 200) +
                               " Retry-After " + res.header("Retry-After").value_or("-"));
        }
      }
    });
  for (auto& th : pool) th.join();
  std::cout << "overload: " << ok << " requests 200, " << overloaded << " 503 overloaded, peak RSS "
            << vm_hwm_kib(srv.pid()) << " KiB\n";
  BOOST_TEST(unexpected.empty(),
             "unexpected answers: " << unexpected.size()
                                    << " first: " << (unexpected.empty() ? "" : unexpected[0]));
  BOOST_TEST(ok + overloaded == threads * requests);
  BOOST_TEST(overloaded > 0u, "a queue of 8 events refuses some of 24 concurrent 3-event requests");
  BOOST_TEST(ok > 0u);

  auto c = make_client(srv);
  const auto stored = check_store_consistent(c, acked);
  // All or nothing: exactly the acknowledged events are stored, none of a refused request.
  BOOST_TEST((stored == acked), "stored " << stored.size() << " acked " << acked.size());
  const auto stats = get_stats(c);
  BOOST_TEST(as_int(at(stats, "received")) == static_cast<std::int64_t>(acked.size()));
  BOOST_TEST(as_int(at(as_object(at(stats, "rejected")), "overloaded")) ==
             static_cast<std::int64_t>(overloaded));
  BOOST_TEST(vm_hwm_kib(srv.pid()) < 1024u * 1024u, "peak RSS under 1 GiB");
  BOOST_TEST(sanitizer_report(srv.all_logs()) == "");
}

BOOST_AUTO_TEST_CASE(retrying_publishers_store_every_event_exactly_once) {
  server_process srv(slow_small_queue());
  log_on_failure guard(srv);
  constexpr std::size_t threads = 16, requests = 20;
  // Each request: 3 own new events + 1 from a pool every thread sends (so duplicates race
  // across threads). An event's body depends only on its key: re-sends are never conflicts.
  std::mutex mu;
  std::set<event_key> sent;
  std::int64_t received = 0, accepted = 0, duplicates = 0;
  std::atomic<int> retries{0};
  std::vector<std::string> unexpected;
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto c = make_client(srv, 30s);
      for (std::size_t r = 0; r < requests; ++r) {
        std::vector<json::object> events;
        std::vector<event_key> keys;
        for (std::size_t i = 0; i < 3; ++i) {
          const auto n = (t * requests + r) * 3 + i;
          keys.emplace_back(topic_for(n), "own" + std::to_string(n));
        }
        keys.emplace_back(topic_for(r), "shared" + std::to_string(r));
        for (const auto& k : keys) events.push_back(make_event(k.first, k.second));
        int my_retries = 0;
        const auto res = publish_retrying(c, array_body(events), 2000, 5ms, &my_retries);
        retries += my_retries;
        std::lock_guard lk(mu);
        sent.insert(keys.begin(), keys.end());
        if (res.status != 200) {
          unexpected.push_back(std::to_string(res.status) + " " + res.body.substr(0, 200));
          continue;
        }
        const auto doc = res.json();
        received += as_int(at(as_object(doc), "received"));
        accepted += as_int(at(as_object(doc), "accepted"));
        duplicates += as_int(at(as_object(doc), "duplicates"));
      }
    });
  for (auto& th : pool) th.join();
  const auto hwm = vm_hwm_kib(srv.pid());
  std::cout << "overload with retries: " << threads * requests << " requests, " << retries.load()
            << " retries after 503, peak RSS " << hwm << " KiB\n";
  BOOST_TEST(unexpected.empty(), "requests that never got a 200: " << unexpected.size());

  auto c = make_client(srv);
  const auto stored = check_store_consistent(c, sent, &sent);
  BOOST_TEST((stored == sent));
  const auto total = static_cast<std::int64_t>(threads * requests * 4);
  const auto distinct = static_cast<std::int64_t>(sent.size());
  BOOST_TEST(received == total);
  BOOST_TEST(accepted == distinct);
  BOOST_TEST(duplicates == total - distinct);
  std::map<std::string, std::int64_t> per_topic;
  for (const auto& k : sent) ++per_topic[k.first];
  expected_stats want{total, distinct, total - distinct, 0, {per_topic.begin(), per_topic.end()}};
  const auto stats = get_stats(c);
  check_stats(stats, want);
  BOOST_TEST(as_int(at(as_object(at(stats, "rejected")), "overloaded")) == retries.load());
  BOOST_TEST(hwm < 1024u * 1024u, "peak RSS under 1 GiB");
  BOOST_TEST(sanitizer_report(srv.all_logs()) == "");
}

BOOST_AUTO_TEST_SUITE_END()
