// Crashes: kill -9 at random moments under mixed load, many times on one database, and SIGTERM
// under load. After every restart each acknowledged event is stored exactly once, nothing
// that was never sent is stored, and the counters agree with the stored events.
#define BOOST_TEST_DYN_LINK
#include "fault_support.hpp"

#include "load_generator.hpp"

#include <iostream>
#include <random>
#include <thread>

using namespace agg::test;
using namespace agg::test::faults;
using namespace std::chrono_literals;

namespace {

// Single-event publishers (new keys every cycle) and batched publishers that re-send earlier
// keys, also keys of earlier cycles (same id prefix): duplicates across crashes.
struct mixed_load {
  load_generator single;
  load_generator batched;

  static load_generator::options single_opts(const std::string& prefix) {
    load_generator::options o;
    o.threads = 2;
    o.batch_size = 1;
    o.resends_per_batch = 0;
    o.id_prefix = prefix;
    o.request_timeout = 5000ms;
    return o;
  }
  static load_generator::options batched_opts() {
    load_generator::options o;
    o.threads = 2;
    o.batch_size = 12;
    o.resends_per_batch = 4;
    o.id_prefix = "batched";
    o.request_timeout = 5000ms;
    return o;
  }
  mixed_load(const server_process& srv, const std::string& single_prefix)
      : single(srv.host(), srv.port(), single_opts(single_prefix)),
        batched(srv.host(), srv.port(), batched_opts()) {
    single.start();
    batched.start();
  }
  void stop_and_collect(std::set<event_key>& acked, std::set<event_key>& sent,
                        std::vector<std::string>& unexpected, std::size_t& ok) {
    single.stop();
    batched.stop();
    for (const auto* g : {&single, &batched}) {
      const auto& r = g->result();
      acked.insert(r.acked.begin(), r.acked.end());
      sent.insert(r.sent.begin(), r.sent.end());
      unexpected.insert(unexpected.end(), r.unexpected.begin(), r.unexpected.end());
      ok += r.ok_requests;
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(crashes)

BOOST_AUTO_TEST_CASE(kill9_at_random_moments_loses_nothing_acknowledged) {
  server_process srv;
  log_on_failure guard(srv);
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pause_ms(30, 400);
  std::cout << "kill -9 cycles, seed " << seed << "\n";
  std::set<event_key> acked, sent;
  std::vector<std::string> unexpected;
  std::size_t ok = 0;
  constexpr int cycles = 20;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    BOOST_TEST_CONTEXT("cycle " << cycle) {
      {
        mixed_load load(srv, "single" + std::to_string(cycle));
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
        srv.kill9();
        load.stop_and_collect(acked, sent, unexpected, ok);
      }
      BOOST_TEST(sanitizer_report(srv.log()) == "");
      srv.start();
      auto c = make_client(srv);
      const auto stored = check_store_consistent(c, acked, &sent);
      if (cycle % 5 == 4 || cycle == cycles - 1)
        std::cout << "after " << cycle + 1 << " kills: " << ok << " requests acknowledged, "
                  << acked.size() << " keys acknowledged, " << stored.size() << " stored\n";
    }
  }
  BOOST_TEST(unexpected.empty(), "non-200 answers: " << unexpected.size() << " first: "
                                                     << (unexpected.empty() ? "" : unexpected[0]));
  BOOST_TEST(ok > 0u);
  BOOST_TEST(srv.terminate().clean());
  BOOST_TEST(sanitizer_report(srv.all_logs()) == "");
}

BOOST_AUTO_TEST_CASE(sigterm_under_load_answers_every_admitted_request) {
  server_process srv;
  log_on_failure guard(srv);
  std::set<event_key> acked, sent;
  std::size_t ok = 0;
  for (int round = 0; round < 3; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      std::vector<std::string> unexpected;
      {
        mixed_load load(srv, "term" + std::to_string(round));
        std::this_thread::sleep_for(300ms);
        const auto stopped = srv.terminate();
        std::cout << "SIGTERM under load: " << stopped.describe() << "\n";
        BOOST_TEST(stopped.clean(), "exit 0 after SIGTERM: " << stopped.describe());
        load.stop_and_collect(acked, sent, unexpected, ok);
      }
      // During shutdown only 503 (shutting down) is a legitimate refusal.
      for (const auto& u : unexpected)
        BOOST_TEST(u.rfind("status 503", 0) == 0u, "answer during shutdown: " << u);
      BOOST_TEST(srv.log().find("stopped") != std::string::npos);
      srv.start();
      auto c = make_client(srv);
      const auto stored = check_store_consistent(c, acked, &sent);
      // A graceful stop answers every request it admitted: nothing is stored that the
      // publishers were not told about.
      std::size_t unanswered = 0;
      for (const auto& k : stored) unanswered += acked.count(k) ? 0 : 1;
      BOOST_TEST(unanswered == 0u, "stored events whose request got no 200: " << unanswered);
    }
  }
  BOOST_TEST(ok > 0u);
  BOOST_TEST(srv.terminate().clean());
  BOOST_TEST(sanitizer_report(srv.all_logs()) == "");
}

BOOST_AUTO_TEST_SUITE_END()
