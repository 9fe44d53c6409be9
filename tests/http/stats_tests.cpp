// GET /stats: every field, the invariant, rejected counters, survival across restarts.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <boost/beast/http/verb.hpp>

#include <csignal>
#include <string>
#include <vector>

using namespace agg::test;
using verb = boost::beast::http::verb;

namespace {

std::int64_t rejected(json::object const& stats, char const* which) {
  return as_int(at(as_object(at(stats, "rejected")), which));
}

expected_stats const mix_stats{9, 6, 3, 1, {{"alpha", 1}, {"mid", 3}, {"zeta", 2}}};

}  // namespace

BOOST_AUTO_TEST_SUITE(stats)

BOOST_AUTO_TEST_CASE(fresh_server_reports_zeros_and_defaults) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto r = c.get("/stats");
  BOOST_TEST_REQUIRE(r.status == 200u, r.body);
  BOOST_TEST(is_json_content_type(r));
  auto const s = as_object(r.json());
  check_stats(s, {0, 0, 0, 0, {}});
  BOOST_TEST(to_text(at(s, "topics")) == "[]");
  BOOST_TEST(to_text(at(s, "topic_counts")) == "{}");
  BOOST_TEST((at(s, "queue") == parse_json(R"({"depth":0,"capacity":65536})")),
             to_text(at(s, "queue")));
  BOOST_TEST((at(s, "rejected") == parse_json(R"({"invalid":0,"overloaded":0})")),
             to_text(at(s, "rejected")));
  BOOST_TEST(as_int(at(s, "subscribers")) == 0);
  BOOST_TEST(at(s, "uptime").is_number());
  BOOST_TEST(at(s, "uptime").to_number<double>() >= 0.0);
  BOOST_TEST(is_rfc3339_utc_like(as_string(at(s, "started_at"))), to_text(at(s, "started_at")));
}

BOOST_AUTO_TEST_CASE(exact_counters_and_sorted_topics) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  publish_mix(c);
  auto s = get_stats(c);
  check_stats(s, mix_stats);
  BOOST_TEST(to_text(at(s, "topics")) == R"(["alpha","mid","zeta"])");
  BOOST_TEST(as_int(at(as_object(at(s, "queue")), "depth")) == 0);
  BOOST_TEST(rejected(s, "invalid") == 0);
  BOOST_TEST(rejected(s, "overloaded") == 0);
  BOOST_TEST(static_cast<std::int64_t>(fetch_all_events(c).size()) ==
             as_int(at(s, "unique_processed")));
}

BOOST_AUTO_TEST_CASE(configured_queue_capacity_is_reported) {
  server_process srv({.args = {"--queue-capacity", "1234"}});
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto s = get_stats(c);
  BOOST_TEST(as_int(at(as_object(at(s, "queue")), "capacity")) == 1234);
}

BOOST_AUTO_TEST_CASE(capacity_from_environment_and_flag_wins) {
  {
    server_process srv({.env = {{"AGG_QUEUE_CAPACITY", "777"}}});
    log_on_failure guard(srv);
    auto c = make_client(srv);
    BOOST_TEST(as_int(at(as_object(at(get_stats(c), "queue")), "capacity")) == 777);
  }
  {
    server_process srv(
        {.args = {"--queue-capacity", "888"}, .env = {{"AGG_QUEUE_CAPACITY", "777"}}});
    log_on_failure guard(srv);
    auto c = make_client(srv);
    BOOST_TEST(as_int(at(as_object(at(get_stats(c), "queue")), "capacity")) == 888);
  }
}

BOOST_AUTO_TEST_CASE(rejected_invalid_counts_publish_4xx) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  check_error(c.post_json("/publish", "{not json"), 400, "invalid_json");
  check_error(c.request(verb::post, "/publish", single_body(make_event("t", "a")),
                        {{"Content-Type", "text/plain"}}),
              415, "unsupported_media_type");
  check_error(c.post_json("/publish", "[]"), 422, "validation_failed");
  check_error(
      c.post_json("/publish", array_body({make_event("t", "ok"), make_event("bad topic", "x")})),
      422, "validation_failed");
  auto s = get_stats(c);
  BOOST_TEST(rejected(s, "invalid") == 4);
  BOOST_TEST(rejected(s, "overloaded") == 0);
  check_stats(s, {0, 0, 0, 0, {}});
}

// CONTRACT: "`rejected` counts requests answered 4xx (`invalid`)": not only on /publish.
BOOST_AUTO_TEST_CASE(rejected_invalid_counts_every_4xx) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  BOOST_TEST(c.get("/publish").status == 405u);
  BOOST_TEST(c.post_json("/events", "{}").status == 405u);
  BOOST_TEST(c.get("/events?limit=0").status == 400u);
  BOOST_TEST(c.get("/no/such/path").status == 404u);
  BOOST_TEST(rejected(get_stats(c), "invalid") == 4);
}

BOOST_AUTO_TEST_CASE(counters_survive_graceful_restart) {
  server_process srv;
  log_on_failure guard(srv);
  {
    auto c = make_client(srv);
    publish_mix(c);
    check_stats(get_stats(c), mix_stats);
  }
  auto exit = srv.terminate();
  BOOST_TEST(exit.clean(), exit);
  srv.start();
  auto c = make_client(srv);
  auto s = get_stats(c);
  check_stats(s, mix_stats);
  BOOST_TEST(as_int(at(as_object(at(s, "queue")), "depth")) == 0);
  // New events after the restart count on top.
  check_publish(
      c.post_json("/publish", array_body({make_event("alpha", "2"), make_event("zeta", "1")})), 2,
      1, 1, {{"alpha", "2", "accepted"}, {"zeta", "1", "duplicate"}});
  check_stats(get_stats(c), {11, 7, 4, 1, {{"alpha", 2}, {"mid", 3}, {"zeta", 2}}});
}

BOOST_AUTO_TEST_CASE(rejected_counters_survive_graceful_restart) {
  server_process srv;
  log_on_failure guard(srv);
  {
    auto c = make_client(srv);
    check_error(c.post_json("/publish", "{not json"), 400, "invalid_json");
    check_error(c.post_json("/publish", "[]"), 422, "validation_failed");
    BOOST_TEST(rejected(get_stats(c), "invalid") == 2);
  }
  auto exit = srv.terminate();
  BOOST_TEST(exit.clean(), exit);
  srv.start();
  auto c = make_client(srv);
  BOOST_TEST(rejected(get_stats(c), "invalid") == 2);
}

BOOST_AUTO_TEST_CASE(counters_survive_kill9) {
  server_process srv;
  log_on_failure guard(srv);
  {
    auto c = make_client(srv);
    publish_mix(c);  // its last request holds new events, so it ends with a commit
    check_stats(get_stats(c), mix_stats);
  }
  auto exit = srv.kill9();
  BOOST_TEST(exit.signal == SIGKILL, exit);
  srv.start();
  auto c = make_client(srv);
  auto s = get_stats(c);
  check_stats(s, mix_stats);
  BOOST_TEST(static_cast<std::int64_t>(fetch_all_events(c).size()) == 6);
}

BOOST_AUTO_TEST_CASE(uptime_starts_again_after_restart) {
  server_process srv;
  log_on_failure guard(srv);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  double before = 0;
  {
    auto c = make_client(srv);
    before = at(get_stats(c), "uptime").to_number<double>();
  }
  BOOST_TEST(before >= 1.0);
  srv.restart();
  auto c = make_client(srv);
  double after = at(get_stats(c), "uptime").to_number<double>();
  BOOST_TEST(after < before);
}

BOOST_AUTO_TEST_SUITE_END()
