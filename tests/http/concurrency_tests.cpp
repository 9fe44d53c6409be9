// 16 concurrent clients publishing the same 500 events: exactly 500 stored, exact stats.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace agg::test;

namespace {

constexpr std::size_t clients = 16;
constexpr std::size_t event_count = 500;
constexpr std::size_t topic_count = 5;

json::object shared_event(std::size_t i) {
  return make_event("conc." + std::to_string(i % topic_count), "ev-" + std::to_string(i),
                    {{"i", static_cast<std::int64_t>(i)}, {"price", 9.75}});
}

struct tally {
  std::mutex mu;
  std::vector<std::string> errors;                      // guarded by mu
  std::map<event_key, std::vector<std::int64_t>> seqs;  // guarded by mu: every seq seen per key
  std::map<event_key, std::size_t> accepted;            // guarded by mu
  std::int64_t received = 0, accepted_total = 0, duplicates = 0;  // guarded by mu
};

// Each client sends all events in its own shuffled order, `per_request` per request.
void run_clients(server_process const& srv, std::size_t per_request, tally& t) {
  std::vector<std::thread> threads;
  for (std::size_t ci = 0; ci < clients; ++ci) {
    threads.emplace_back([&, ci] {
      std::vector<std::size_t> order(event_count);
      for (std::size_t i = 0; i < event_count; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(),
                   std::mt19937(static_cast<std::mt19937::result_type>(ci + 1)));
      http_client c(srv.host(), srv.port());
      for (std::size_t start = 0; start < event_count; start += per_request) {
        std::vector<json::object> batch;
        for (std::size_t k = start; k < std::min(event_count, start + per_request); ++k)
          batch.push_back(shared_event(order[k]));
        std::string body = per_request == 1 ? single_body(batch[0]) : array_body(batch);
        http_response r;
        auto ec = c.try_request(boost::beast::http::verb::post, "/publish", body,
                                {{"Content-Type", "application/json"}}, r);
        std::lock_guard lock(t.mu);
        if (ec) {
          t.errors.push_back("client " + std::to_string(ci) + ": " + ec.message());
          return;
        }
        if (r.status != 200) {
          t.errors.push_back("client " + std::to_string(ci) + ": " + std::to_string(r.status) +
                             " " + r.body);
          return;
        }
        try {
          auto const doc = r.json();
          auto const& o = as_object(doc);
          t.received += as_int(at(o, "received"));
          t.accepted_total += as_int(at(o, "accepted"));
          t.duplicates += as_int(at(o, "duplicates"));
          auto const& results = as_array(at(o, "results"));
          if (results.size() != batch.size()) throw std::runtime_error("results size");
          for (std::size_t i = 0; i < results.size(); ++i) {
            auto const& res = as_object(results[i]);
            auto key = key_of(res);
            if (key != key_of(batch[i])) throw std::runtime_error("results out of order");
            auto status = as_string(at(res, "status"));
            if (status == "accepted")
              ++t.accepted[key];
            else if (status != "duplicate")
              throw std::runtime_error("unexpected status " + status);
            t.seqs[key].push_back(as_int(at(res, "seq")));
          }
        } catch (std::exception const& e) {
          t.errors.push_back("client " + std::to_string(ci) + ": " + e.what() + " in " +
                             r.body.substr(0, 300));
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
}

void check_outcome(server_process const& srv, tally& t) {
  BOOST_TEST(t.errors.empty(),
             t.errors.size() << " client errors, first: " << (t.errors.empty() ? "" : t.errors[0]));
  std::int64_t const total = static_cast<std::int64_t>(clients * event_count);
  BOOST_TEST(t.received == total);
  BOOST_TEST(t.accepted_total == static_cast<std::int64_t>(event_count));
  BOOST_TEST(t.duplicates == total - static_cast<std::int64_t>(event_count));
  BOOST_TEST(t.seqs.size() == event_count);
  std::size_t accepted_once = 0, same_seq = 0;
  for (auto const& [key, seqs] : t.seqs) {
    auto it = t.accepted.find(key);
    if (it != t.accepted.end() && it->second == 1) ++accepted_once;
    if (seqs.size() == clients &&
        std::all_of(seqs.begin(), seqs.end(), [first = seqs[0]](auto s) { return s == first; }))
      ++same_seq;
  }
  BOOST_TEST(accepted_once == event_count, "every event accepted exactly once");
  BOOST_TEST(same_seq == event_count, "all 16 answers for an event carry the same seq");

  auto c = make_client(srv);
  auto events = fetch_all_events(c);
  BOOST_TEST(events.size() == event_count);
  std::set<event_key> stored;
  for (auto const& e : events) {
    auto key = key_of(e);
    stored.insert(key);
    auto it = t.seqs.find(key);
    if (it != t.seqs.end()) BOOST_TEST(as_int(at(e, "seq")) == it->second.front());
  }
  BOOST_TEST(stored.size() == event_count);
  expected_stats want{total,
                      static_cast<std::int64_t>(event_count),
                      total - static_cast<std::int64_t>(event_count),
                      0,
                      {}};
  for (std::size_t k = 0; k < topic_count; ++k)
    want.topic_counts.emplace_back("conc." + std::to_string(k),
                                   static_cast<std::int64_t>(event_count / topic_count));
  check_stats(get_stats(c), want);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(sixteen_clients_same_500_events_in_batches_of_25) {
  server_process srv;
  log_on_failure guard(srv);
  tally t;
  run_clients(srv, 25, t);
  check_outcome(srv, t);
}

BOOST_AUTO_TEST_CASE(sixteen_clients_same_500_events_one_per_request) {
  server_process srv;
  log_on_failure guard(srv);
  tally t;
  auto const t0 = std::chrono::steady_clock::now();
  run_clients(srv, 1, t);
  BOOST_TEST_MESSAGE("8000 single-event requests from 16 clients: "
                     << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                     << " s");
  check_outcome(srv, t);
}

BOOST_AUTO_TEST_SUITE_END()
