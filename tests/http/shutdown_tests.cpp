// SIGTERM and kill -9 while publishers are busy: acknowledged means durable, nothing is
// stored twice, the counters agree with the stored events.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include "load_generator.hpp"
#include "raw_connection.hpp"

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace agg::test;
using namespace std::chrono_literals;

namespace {

// Waits until the load has `n` acknowledged requests (or `limit` passed).
void wait_for_acks(load_generator const& load, std::size_t n, std::chrono::milliseconds limit) {
  auto const deadline = std::chrono::steady_clock::now() + limit;
  while (load.ok_requests() < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
}

// Every answer was 200 or the connection closed. After SIGTERM (`terminating`), a request
// that arrives on an open connection before it is closed is not admitted and gets
// 503 shutting_down: also expected, and it stores nothing (check_store proves that).
void check_no_unexpected_answers(load_generator::outcome const& o, bool terminating = false) {
  std::vector<std::string> unexpected;
  for (auto const& a : o.unexpected)
    if (!(terminating && a.rfind("status 503: ", 0) == 0 &&
          a.find("\"error\":\"shutting_down\"") != std::string::npos))
      unexpected.push_back(a);
  BOOST_TEST(unexpected.empty(), unexpected.size()
                                     << " answers other than 200/connection close, first: "
                                     << (unexpected.empty() ? "" : unexpected.front()));
}

// The store after a restart: every acknowledged key exactly once, nothing that was never
// sent, and stats agreeing with the stored events. Returns the stored keys.
std::set<event_key> check_store(http_client& c, std::set<event_key> const& acked,
                                std::set<event_key> const& sent) {
  auto const events = fetch_all_events(c);
  std::set<event_key> stored;
  std::map<std::string, std::int64_t> per_topic;
  std::size_t twice = 0;
  for (auto const& e : events) {
    auto key = key_of(e);
    if (!stored.insert(key).second) ++twice;
    ++per_topic[key.first];
  }
  BOOST_TEST(twice == 0u, "events stored more than once");
  std::size_t lost = 0, phantom = 0;
  for (auto const& k : acked) lost += stored.count(k) ? 0 : 1;
  for (auto const& k : stored) phantom += sent.count(k) ? 0 : 1;
  BOOST_TEST(lost == 0u, "acknowledged events missing after restart (of " << acked.size() << ")");
  BOOST_TEST(phantom == 0u, "stored events that were never sent");

  auto const s = get_stats(c);
  BOOST_TEST_CONTEXT("stats " << to_text(s)) {
    BOOST_TEST(as_int(at(s, "unique_processed")) == static_cast<std::int64_t>(events.size()));
    BOOST_TEST(sum_topic_counts(s) == as_int(at(s, "unique_processed")));
    BOOST_TEST(as_int(at(s, "received")) ==
               as_int(at(s, "unique_processed")) + as_int(at(s, "duplicate_dropped")));
    json::object want_counts;
    json::array want_topics;
    for (auto const& [t, n] : per_topic) {
      want_counts[t] = n;
      want_topics.emplace_back(t);
    }
    BOOST_TEST((at(s, "topic_counts") == json::value(want_counts)));
    BOOST_TEST((at(s, "topics") == json::value(want_topics)));
  }
  return stored;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stop_and_crash)

BOOST_AUTO_TEST_CASE(sigterm_under_load_answers_admitted_requests_and_exits_0) {
  server_process srv({.stop_timeout = 20s});
  log_on_failure guard(srv);
  load_generator load(srv.host(), srv.port(), {.threads = 4, .id_prefix = "term"});
  load.start();
  wait_for_acks(load, 30, 5s);
  std::this_thread::sleep_for(200ms);
  auto const exit = srv.terminate();
  load.stop();
  auto const& o = load.result();
  BOOST_TEST_MESSAGE("SIGTERM under load: " << o.ok_requests << " acknowledged requests, "
                                            << o.io_errors << " closed without an answer");
  BOOST_TEST(exit.clean(), "exit: " << exit);
  check_no_unexpected_answers(o, true);
  BOOST_TEST_REQUIRE(o.ok_requests > 0u);

  srv.start();
  auto c = make_client(srv);
  check_store(c, o.acked, o.sent);
  // Admitted requests were all answered, the others left no trace: the counters are
  // exactly the sums of the 200 answers.
  auto const s = get_stats(c);
  BOOST_TEST(as_int(at(s, "received")) == o.received);
  BOOST_TEST(as_int(at(s, "unique_processed")) == o.accepted);
  BOOST_TEST(as_int(at(s, "duplicate_dropped")) == o.duplicates);
  BOOST_TEST(as_int(at(s, "conflicts")) == 0);
}

// Every request the kernel had received whole before the stop began gets an answer: 200 if it
// was admitted, 503 shutting_down if not. None is cut off, also on connections still in the
// listen backlog or not read yet. The server is paused (SIGSTOP) while 100 connections each
// send a whole publish, so that SIGTERM finds them all in the kernel, unread.
BOOST_AUTO_TEST_CASE(requests_received_before_sigterm_all_get_an_answer) {
  server_process srv({.args = {"--threads", "1"}, .stop_timeout = 20s});
  log_on_failure guard(srv);
  constexpr int connections = 100;
  srv.send_signal(SIGSTOP);
  std::vector<std::unique_ptr<raw_connection>> conns;
  for (int i = 0; i < connections; ++i) {
    conns.push_back(std::make_unique<raw_connection>(srv.host(), srv.port(), 10s));
    BOOST_REQUIRE(!conns.back()->connect());  // the kernel completes it from the backlog
  }
  for (int i = 0; i < connections; ++i) {
    const auto body = single_body(make_event("backlog", "e" + std::to_string(i)));
    BOOST_REQUIRE(!conns[static_cast<std::size_t>(i)]->write(
        "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body));
  }
  srv.send_signal(SIGTERM);
  srv.send_signal(SIGCONT);
  std::int64_t accepted = 0, refused = 0;
  for (auto& c : conns) {
    http_response r;
    const auto ec = c->read_response(r);
    BOOST_TEST_REQUIRE(!ec, "a request sent before SIGTERM got no answer: " << ec.message());
    if (r.status == 200u) {
      ++accepted;
      BOOST_TEST(as_int(at(r.json().as_object(), "accepted")) == 1);
    } else {
      ++refused;
      BOOST_TEST(r.status == 503u);
      BOOST_TEST(as_string(at(r.json().as_object(), "error")) == "shutting_down");
    }
  }
  BOOST_TEST_MESSAGE("SIGTERM with 100 requests in flight: " << accepted << " stored, " << refused
                                                             << " refused with 503");
  BOOST_TEST(accepted + refused == connections);
  BOOST_TEST(srv.wait(20s).clean());
  srv.start();
  auto c = make_client(srv);
  BOOST_TEST(as_int(at(get_stats(c), "unique_processed")) == accepted);
}

BOOST_AUTO_TEST_CASE(sigint_exits_0) {
  server_process srv({.stop_timeout = 20s});
  log_on_failure guard(srv);
  {
    auto c = make_client(srv);
    check_publish(c.post_json("/publish", single_body(make_event("int", "1"))), 1, 1, 0,
                  {{"int", "1", "accepted"}});
  }
  srv.send_signal(SIGINT);
  auto const exit = srv.wait(20s);
  BOOST_TEST(exit.clean(), "exit: " << exit);
  srv.start();
  auto c = make_client(srv);
  BOOST_TEST(fetch_all_events(c).size() == 1u);
}

BOOST_AUTO_TEST_CASE(kill9_under_load_three_cycles) {
  server_process srv;
  log_on_failure guard(srv);
  std::set<event_key> acked, sent, stored;
  std::size_t ok_requests = 0;
  for (int cycle = 0; cycle < 3; ++cycle) {
    BOOST_TEST_CONTEXT("cycle " << cycle) {
      load_generator load(srv.host(), srv.port(),
                          {.threads = 4, .id_prefix = "k9c" + std::to_string(cycle)});
      load.start();
      wait_for_acks(load, 20, 5s);
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + 150 * cycle));
      auto const exit = srv.kill9();
      load.stop();
      auto const& o = load.result();
      BOOST_TEST(exit.signal == SIGKILL, "exit: " << exit);
      check_no_unexpected_answers(o);
      BOOST_TEST(o.ok_requests > 0u);
      ok_requests += o.ok_requests;
      acked.insert(o.acked.begin(), o.acked.end());
      sent.insert(o.sent.begin(), o.sent.end());

      srv.start();
      auto c = make_client(srv);
      stored = check_store(c, acked, sent);
    }
  }
  BOOST_TEST_MESSAGE("kill -9 x3: " << ok_requests << " acknowledged requests, " << acked.size()
                                    << " acked keys, " << sent.size() << " sent keys, "
                                    << stored.size() << " stored");

  // Publishers retry everything they ever sent: every acknowledged event is a duplicate,
  // and nothing gets a second copy.
  auto c = make_client(srv);
  std::vector<event_key> all(sent.begin(), sent.end());
  std::int64_t accepted = 0;
  std::size_t acked_but_accepted = 0;
  for (std::size_t start = 0; start < all.size(); start += 500) {
    std::vector<json::object> batch;
    for (std::size_t i = start; i < std::min(all.size(), start + 500); ++i)
      batch.push_back(load_generator::event_for(all[i]));
    auto r = c.post_json("/publish", array_body(batch));
    BOOST_TEST_REQUIRE(r.status == 200u, r.body.substr(0, 300));
    auto const doc = r.json();
    accepted += as_int(at(as_object(doc), "accepted"));
    auto const& results = as_array(at(as_object(doc), "results"));
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto const& res = as_object(results[i]);
      auto status = as_string(at(res, "status"));
      BOOST_TEST((status == "accepted" || status == "duplicate"), status);
      if (status == "accepted" && acked.count(all[start + i])) ++acked_but_accepted;
    }
  }
  BOOST_TEST(acked_but_accepted == 0u, "an acknowledged event was accepted again");
  BOOST_TEST(accepted == static_cast<std::int64_t>(sent.size() - stored.size()));
  auto final_stored = check_store(c, acked, sent);
  BOOST_TEST(final_stored.size() == sent.size());
}

BOOST_AUTO_TEST_SUITE_END()
