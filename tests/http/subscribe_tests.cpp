// GET /subscribe (NDJSON, Server-Sent Events, WebSocket) and GET /events?wait= (long-poll):
// exactly once, in seq order, no gap at the hand-over from history to live events, resume
// across restarts, slow subscribers, limits, SIGTERM.
#define BOOST_TEST_DYN_LINK
#include "load_generator.hpp"
#include "raw_connection.hpp"
#include "stream_client.hpp"
#include "test_support.hpp"

#include <csignal>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace agg::test;
using namespace std::chrono_literals;

namespace {

// Publishes events `prefix-from` .. `prefix-(to-1)` on `topic`, in one request; returns seqs.
std::vector<std::int64_t> publish_range(http_client& c, std::string const& topic,
                                        std::string const& prefix, int from, int to) {
  std::vector<json::object> batch;
  std::vector<expected_result> want;
  for (int i = from; i < to; ++i) {
    batch.push_back(make_event(topic, prefix + "-" + std::to_string(i), {{"i", i}}));
    want.push_back({topic, prefix + "-" + std::to_string(i), "accepted"});
  }
  return check_publish(c.post_json("/publish", array_body(batch)), to - from, to - from, 0, want);
}

std::vector<std::int64_t> seqs_of(std::vector<json::object> const& events) {
  std::vector<std::int64_t> out;
  for (auto const& e : events) out.push_back(as_int(at(e, "seq")));
  return out;
}

std::vector<std::int64_t> iota(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (std::int64_t s = from; s <= to; ++s) out.push_back(s);
  return out;
}

header_list sse_headers(header_list extra = {}) {
  extra.emplace_back("Accept", "text/event-stream");
  return extra;
}

// The stream's events are exactly /events' (same objects, same order) from `after` on.
void check_same_as_events(http_client& c, std::vector<json::object> const& streamed,
                          std::string_view topic = {}) {
  auto const stored = fetch_all_events(c, topic);
  BOOST_TEST_REQUIRE(streamed.size() == stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i)
    BOOST_TEST(to_text(streamed[i]) == to_text(stored[i]), "event " << i);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(subscribe)

BOOST_AUTO_TEST_CASE(ndjson_history_then_live_events_exactly_as_events_shows_them) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "orders", "h", 0, 3);
  http_stream s(server.host(), server.port(), "/subscribe?after=0", false);
  BOOST_TEST(s.status() == 200u);
  BOOST_TEST(s.header("Content-Type").value_or("") == "application/x-ndjson");
  BOOST_TEST(s.header("Transfer-Encoding").value_or("") == "chunked");
  auto history = s.events(3, 5s);
  BOOST_TEST(seqs_of(history) == iota(1, 3));
  publish_range(c, "orders", "l", 0, 2);
  auto live = s.events(2, 5s);
  BOOST_TEST(seqs_of(live) == iota(4, 5));
  history.insert(history.end(), live.begin(), live.end());
  check_same_as_events(c, history);
  BOOST_TEST(as_string(at(history[3], "event_id")) == "l-0");
  BOOST_TEST(is_rfc3339_utc_like(as_string(at(history[3], "received_at"))));
}

BOOST_AUTO_TEST_CASE(sse_retry_then_id_event_data_blocks) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "orders", "a", 0, 2);
  http_stream s(server.host(), server.port(), "/subscribe?after=1", true, sse_headers());
  BOOST_TEST(s.status() == 200u);
  BOOST_TEST(s.header("Content-Type").value_or("") == "text/event-stream");
  auto first = s.next(5s);
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->raw == "retry: 1000");
  auto ev = s.next(5s);
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST((ev->type == stream_message::kind::event));
  BOOST_TEST(ev->id == "2");
  auto const stored = fetch_all_events(c);
  BOOST_TEST(ev->raw == "id: 2\nevent: event\ndata: " + to_text(stored[1]));
}

BOOST_AUTO_TEST_CASE(websocket_one_message_per_event) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "orders", "a", 0, 2);
  ws_stream ws(server.host(), server.port(), "/subscribe?after=0&topic=orders");
  std::vector<json::object> got;
  for (int i = 0; i < 2; ++i)
    if (auto e = ws.next_event(5s)) got.push_back(*e);
  publish_range(c, "other", "x", 0, 1);
  publish_range(c, "orders", "b", 0, 1);
  if (auto e = ws.next_event(5s)) got.push_back(*e);
  BOOST_TEST(seqs_of(got) == (std::vector<std::int64_t>{1, 2, 4}));
  check_same_as_events(c, got, "orders");
}

BOOST_AUTO_TEST_CASE(latest_is_the_default_and_sends_only_new_events) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "t", "old", 0, 5);
  http_stream s(server.host(), server.port(), "/subscribe", false);
  BOOST_TEST(s.status() == 200u);
  BOOST_TEST(!s.next_event(300ms).has_value());  // nothing old
  publish_range(c, "t", "new", 0, 1);
  auto e = s.next_event(5s);
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(as_int(at(*e, "seq")) == 6);
  BOOST_TEST(as_string(at(*e, "event_id")) == "new-0");
}

BOOST_AUTO_TEST_CASE(topic_filters_exact_prefix_and_repeated) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "order.paid", "p", 0, 2);    // 1, 2
  publish_range(c, "order.sent", "s", 0, 1);    // 3
  publish_range(c, "user.created", "u", 0, 2);  // 4, 5
  publish_range(c, "orders", "o", 0, 1);        // 6: not under "order."
  auto seqs = [&](std::string const& q, std::size_t n) {
    http_stream s(server.host(), server.port(), "/subscribe?after=0&" + q, false);
    BOOST_TEST(s.status() == 200u);
    auto ev = s.events(n, 5s);
    BOOST_TEST(!s.next_event(200ms).has_value(), q << ": nothing more");
    return seqs_of(ev);
  };
  BOOST_TEST(seqs("topic=order.*", 3) == (std::vector<std::int64_t>{1, 2, 3}));
  BOOST_TEST(seqs("topic=order.paid&topic=user.created", 4) ==
             (std::vector<std::int64_t>{1, 2, 4, 5}));
  BOOST_TEST(seqs("topic=orders&topic=user.*", 3) == (std::vector<std::int64_t>{4, 5, 6}));
  BOOST_TEST(seqs("topic=*", 6) == iota(1, 6));
  BOOST_TEST(seqs("topic=nothing.here", 0).empty());
}

BOOST_AUTO_TEST_CASE(last_event_id_wins_over_after) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "t", "a", 0, 5);
  http_stream s(server.host(), server.port(), "/subscribe?after=1", true,
                sse_headers({{"Last-Event-ID", "3"}}));
  BOOST_TEST(seqs_of(s.events(2, 5s)) == (std::vector<std::int64_t>{4, 5}));
}

BOOST_AUTO_TEST_CASE(bad_queries_are_400_bad_query_before_the_stream) {
  server_process server;
  log_on_failure guard(server);
  auto check = [&](std::string const& target, header_list h = {}) {
    http_stream s(server.host(), server.port(), target, false, h);
    BOOST_TEST_CONTEXT(target) {
      BOOST_TEST(s.status() == 400u);
      http_response r;
      r.status = s.status();
      r.headers = {{"Content-Type", s.header("Content-Type").value_or("")}};
      r.body = s.error_body();
      check_error(r, 400, "bad_query");
    }
  };
  check("/subscribe?after=-1");
  check("/subscribe?after=abc");
  check("/subscribe?after=1.5");
  check("/subscribe?topic=");
  check("/subscribe?topic=has%20space");
  check("/subscribe?topic=%ZZ");
  check("/subscribe", {{"Last-Event-ID", "x"}});
  check("/subscribe?after=3", {{"Last-Event-ID", "-2"}});
  auto c = make_client(server);
  auto r = c.request(http_client::verb::post, "/subscribe", "{}");
  check_error(r, 405, "method_not_allowed");
  BOOST_TEST(r.header("Allow").value_or("") == "GET");
}

BOOST_AUTO_TEST_CASE(max_subscribers_then_503_overloaded_and_stats_counts_streams) {
  server_process server({.args = {"--max-subscribers", "2"}});
  log_on_failure guard(server);
  auto c = make_client(server);
  http_stream a(server.host(), server.port(), "/subscribe", false);
  ws_stream b(server.host(), server.port(), "/subscribe");
  BOOST_TEST(a.status() == 200u);
  BOOST_TEST(as_int(at(get_stats(c), "subscribers")) == 2);
  http_stream third(server.host(), server.port(), "/subscribe", true, sse_headers());
  BOOST_TEST(third.status() == 503u);
  BOOST_TEST(third.header("Retry-After").value_or("") == "1");
  BOOST_TEST(third.error_body().find("\"overloaded\"") != std::string::npos);
  a.close();
  // The closed stream is noticed by its read of the socket; then there is room again.
  std::int64_t open = -1;
  for (int i = 0; i < 100 && open != 1; ++i) {
    open = as_int(at(get_stats(c), "subscribers"));
    if (open != 1) std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(open == 1);
  http_stream fourth(server.host(), server.port(), "/subscribe", false);
  BOOST_TEST(fourth.status() == 200u);
}

BOOST_AUTO_TEST_CASE(a_subscriber_that_never_reads_overflows_and_publishers_go_on) {
  server_process server({.args = {"--subscriber-buffer", "65536"}});
  log_on_failure guard(server);
  auto c = make_client(server);
  // Opened and never read: the socket buffers fill, then the send budget.
  http_stream stuck(server.host(), server.port(), "/subscribe?after=0", false);
  BOOST_TEST(stuck.status() == 200u);
  // 2500 events of ~8 KB: 20 MB, far more than loopback's socket buffers hold (a few MB).
  json::object big{{"pad", std::string(8000, 'x')}};
  const int batches = 50, per = 50;
  for (int b = 0; b < batches; ++b) {
    std::vector<json::object> batch;
    for (int i = 0; i < per; ++i)
      batch.push_back(make_event("bulk", "e" + std::to_string(b * per + i), big));
    auto r = c.post_json("/publish", array_body(batch));
    BOOST_TEST_REQUIRE(r.status == 200u);
  }
  // Now read: events 1..N in order, then the overflow line naming N, then the end.
  std::vector<json::object> got;
  while (auto e = stuck.next_event(5s)) got.push_back(std::move(*e));
  BOOST_TEST_REQUIRE(stuck.last_overflow().has_value());
  const auto n = *stuck.last_overflow();
  BOOST_TEST(n < batches * per);
  BOOST_TEST(seqs_of(got) == iota(1, n));
  BOOST_TEST(!stuck.next(2s).has_value());
  BOOST_TEST(stuck.ended());
  // Resuming from N loses nothing.
  http_stream resumed(server.host(), server.port(), "/subscribe?after=" + std::to_string(n), false);
  auto rest = resumed.events(static_cast<std::size_t>(batches * per - n), 10s);
  BOOST_TEST(seqs_of(rest) == iota(n + 1, batches * per));
}

BOOST_AUTO_TEST_CASE(sse_and_websocket_overflow_messages) {
  server_process server({.args = {"--subscriber-buffer", "4096"}});
  log_on_failure guard(server);
  auto c = make_client(server);
  http_stream sse(server.host(), server.port(), "/subscribe", true, sse_headers());
  ws_stream ws(server.host(), server.port(), "/subscribe");
  json::object big{{"pad", std::string(8000, 'y')}};  // 20 MB in all, as above
  for (int b = 0; b < 50; ++b) {
    std::vector<json::object> batch;
    for (int i = 0; i < 50; ++i)
      batch.push_back(make_event("bulk", "e" + std::to_string(b * 50 + i), big));
    BOOST_TEST_REQUIRE(c.post_json("/publish", array_body(batch)).status == 200u);
  }
  std::int64_t last = 0;
  while (auto e = sse.next_event(5s)) last = as_int(at(*e, "seq"));
  BOOST_TEST_REQUIRE(sse.last_overflow().has_value());
  BOOST_TEST(*sse.last_overflow() == last);
  last = 0;
  while (auto e = ws.next_event(5s)) last = as_int(at(*e, "seq"));
  BOOST_TEST_REQUIRE(ws.closed());
  BOOST_TEST(ws.close_code() == 4001);
  BOOST_TEST(ws.close_reason() == "overflow last_seq=" + std::to_string(last));
}

// HTTP/1.0 has no chunked encoding: the NDJSON body is the bytes up to the close, so a stream
// that ends (here by overflow) must close the connection after its last line.
BOOST_AUTO_TEST_CASE(http10_ndjson_stream_ends_with_its_last_line_and_the_close) {
  server_process server({.args = {"--subscriber-buffer", "4096"}});
  log_on_failure guard(server);
  auto c = make_client(server);
  raw_connection conn(server.host(), server.port(), std::chrono::seconds(30));
  BOOST_TEST_REQUIRE(!conn.connect());
  BOOST_TEST_REQUIRE(!conn.write("GET /subscribe?after=0 HTTP/1.0\r\n\r\n"));
  json::object big{{"pad", std::string(8000, 'z')}};  // 20 MB in all, as above
  for (int b = 0; b < 50; ++b) {
    std::vector<json::object> batch;
    for (int i = 0; i < 50; ++i)
      batch.push_back(make_event("bulk", "e" + std::to_string(b * 50 + i), big));
    BOOST_TEST_REQUIRE(c.post_json("/publish", array_body(batch)).status == 200u);
  }
  std::string all;
  BOOST_TEST_REQUIRE(!conn.read_until_close(all));  // success means the server closed
  const auto body_at = all.find("\r\n\r\n");
  BOOST_TEST_REQUIRE(body_at != std::string::npos);
  const std::string head = all.substr(0, body_at);
  BOOST_TEST(head.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u, head);
  BOOST_TEST(head.find("Content-Type: application/x-ndjson") != std::string::npos, head);
  BOOST_TEST(head.find("chunked") == std::string::npos, head);
  // Every line whole: events 1..N in order, then the overflow line naming N, then the close.
  std::vector<std::string> lines;
  for (std::size_t at = body_at + 4; at < all.size();) {
    const auto nl = all.find('\n', at);
    BOOST_TEST_REQUIRE(nl != std::string::npos, "the body ends inside a line");
    lines.push_back(all.substr(at, nl - at));
    at = nl + 1;
  }
  BOOST_TEST_REQUIRE(lines.size() >= 2u);
  const auto overflow = as_object(parse_json(lines.back()));
  const auto n = as_int(at(as_object(at(overflow, "overflow")), "last_seq"));
  BOOST_TEST(n < 2500);
  BOOST_TEST_REQUIRE(lines.size() == static_cast<std::size_t>(n) + 1);
  for (std::int64_t i = 0; i < n; ++i)
    BOOST_TEST(as_int(at(as_object(parse_json(lines[static_cast<std::size_t>(i)])), "seq")) ==
               i + 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(subscribe_load)

BOOST_AUTO_TEST_CASE(sixteen_publishers_with_duplicates_streams_get_exactly_the_stored_events) {
  server_process server;
  log_on_failure guard(server);
  // One stream from the start (live all along) and one that opens in the middle of the
  // burst from after=0 (history, then the hand-over while events keep coming).
  http_stream early(server.host(), server.port(), "/subscribe?after=0", false);
  BOOST_TEST_REQUIRE(early.status() == 200u);
  load_generator::options opt;
  opt.threads = 16;
  opt.batch_size = 8;
  opt.resends_per_batch = 2;
  load_generator gen(server.host(), server.port(), opt);
  gen.start();
  while (gen.ok_requests() < 150) std::this_thread::sleep_for(5ms);
  auto late_f = std::async(std::launch::async, [&] {
    http_stream late(server.host(), server.port(), "/subscribe?after=0", true, sse_headers());
    std::vector<json::object> got;
    while (auto e = late.next_event(3s)) got.push_back(std::move(*e));
    return got;
  });
  while (gen.ok_requests() < 600) std::this_thread::sleep_for(5ms);
  gen.stop();
  BOOST_TEST(gen.result().unexpected.empty());
  std::vector<json::object> early_got;
  while (auto e = early.next_event(3s)) early_got.push_back(std::move(*e));
  auto late_got = late_f.get();
  auto c = make_client(server);
  const auto stats = get_stats(c);
  const auto stored = as_int(at(stats, "unique_processed"));
  BOOST_TEST(as_int(at(stats, "duplicate_dropped")) > 0);
  BOOST_TEST(seqs_of(early_got) == iota(1, stored));
  BOOST_TEST(seqs_of(late_got) == iota(1, stored));
  check_same_as_events(c, early_got);
  std::set<event_key> streamed;
  for (auto const& e : early_got) streamed.insert(key_of(e));
  for (auto const& k : gen.result().acked) BOOST_TEST(streamed.count(k) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(subscribe_restart)

BOOST_AUTO_TEST_CASE(resume_with_last_event_id_and_after_across_a_restart) {
  server_process server;
  log_on_failure guard(server);
  {
    auto c = make_client(server);
    publish_range(c, "t", "a", 0, 4);
  }
  std::int64_t last = 0;
  {
    http_stream s(server.host(), server.port(), "/subscribe?after=0", true, sse_headers());
    auto ev = s.events(2, 5s);
    BOOST_TEST_REQUIRE(ev.size() == 2u);
    last = as_int(at(ev.back(), "seq"));
  }
  server.restart();
  BOOST_TEST(server.last_exit().clean());
  auto c = make_client(server);
  publish_range(c, "t", "b", 0, 2);
  http_stream sse(server.host(), server.port(), "/subscribe", true,
                  sse_headers({{"Last-Event-ID", std::to_string(last)}}));
  BOOST_TEST(seqs_of(sse.events(4, 5s)) == iota(3, 6));
  http_stream nd(server.host(), server.port(), "/subscribe?after=" + std::to_string(last), false);
  BOOST_TEST(seqs_of(nd.events(4, 5s)) == iota(3, 6));
}

BOOST_AUTO_TEST_CASE(sigterm_ends_every_stream_cleanly_and_exits_0) {
  server_process server;
  log_on_failure guard(server);
  http_stream nd(server.host(), server.port(), "/subscribe", false);
  http_stream sse(server.host(), server.port(), "/subscribe", true, sse_headers());
  ws_stream ws(server.host(), server.port(), "/subscribe");
  auto c = make_client(server);
  BOOST_TEST(as_int(at(get_stats(c), "subscribers")) == 3);
  c.close();
  server.send_signal(SIGTERM);
  BOOST_TEST(!nd.next_event(5s).has_value());
  BOOST_TEST(nd.ended());
  BOOST_TEST(!sse.next_event(5s).has_value());
  BOOST_TEST(sse.ended());
  BOOST_TEST(!ws.next_event(5s).has_value());
  BOOST_TEST(ws.closed());
  BOOST_TEST(ws.close_code() == 1001);
  const auto exit = server.wait(10s);
  BOOST_TEST(exit.clean(), exit);
}

BOOST_AUTO_TEST_CASE(kill9_then_resume_loses_nothing_acknowledged) {
  server_process server;
  log_on_failure guard(server);
  load_generator::options opt;
  opt.threads = 4;
  load_generator gen(server.host(), server.port(), opt);
  http_stream s(server.host(), server.port(), "/subscribe?after=0", false);
  gen.start();
  std::vector<json::object> got;
  for (int i = 0; i < 400 && got.size() < 200; ++i)
    if (auto e = s.next_event(5s)) got.push_back(std::move(*e));
  BOOST_TEST_REQUIRE(got.size() >= 200u);
  server.kill9();
  gen.stop();
  const auto acked = gen.result().acked;
  while (auto e = s.next_event(1s)) got.push_back(std::move(*e));  // what was already sent
  server.start();
  const auto last = as_int(at(got.back(), "seq"));
  http_stream resumed(server.host(), server.port(), "/subscribe?after=" + std::to_string(last),
                      false);
  auto c = make_client(server);
  const auto stored = as_int(at(get_stats(c), "unique_processed"));
  auto rest = resumed.events(static_cast<std::size_t>(stored - last), 10s);
  got.insert(got.end(), rest.begin(), rest.end());
  BOOST_TEST(seqs_of(got) == iota(1, stored));
  std::set<event_key> seen;
  for (auto const& e : got) seen.insert(key_of(e));
  for (auto const& k : acked) BOOST_TEST(seen.count(k) == 1u, k.first << "/" << k.second);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(long_poll)

BOOST_AUTO_TEST_CASE(held_until_a_matching_event_is_committed) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "t", "a", 0, 2);
  auto held = std::async(std::launch::async, [&] {
    auto c2 = make_client(server);
    return c2.get("/events?topic=t&after=2&wait=10");
  });
  std::this_thread::sleep_for(300ms);
  BOOST_TEST((held.wait_for(0ms) == std::future_status::timeout));
  publish_range(c, "other", "x", 0, 1);  // not a match: still held
  std::this_thread::sleep_for(300ms);
  BOOST_TEST((held.wait_for(0ms) == std::future_status::timeout));
  publish_range(c, "t", "b", 0, 1);  // seq 4
  BOOST_TEST_REQUIRE((held.wait_for(5s) == std::future_status::ready));
  auto r = held.get();
  BOOST_TEST(r.status == 200u);
  auto const body = as_object(r.json());
  BOOST_TEST(as_int(at(body, "count")) == 1);
  BOOST_TEST(as_int(at(body, "next_after")) == 4);
}

BOOST_AUTO_TEST_CASE(empty_after_wait_seconds_and_immediate_when_events_exist) {
  server_process server;
  log_on_failure guard(server);
  auto c = make_client(server);
  publish_range(c, "t", "a", 0, 1);
  auto r = c.get("/events?after=0&wait=5");
  BOOST_TEST(as_int(at(as_object(r.json()), "count")) == 1);
  const auto t0 = std::chrono::steady_clock::now();
  r = c.get("/events?after=1&wait=1");
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.body == R"({"count":0,"next_after":null,"events":[]})");
  BOOST_TEST((took >= 900ms));
  check_error(c.get("/events?wait=61"), 400, "bad_query");
  check_error(c.get("/events?wait=-1"), 400, "bad_query");
  check_error(c.get("/events?wait=x"), 400, "bad_query");
}

BOOST_AUTO_TEST_CASE(sigterm_answers_every_held_request_at_once) {
  server_process server;
  log_on_failure guard(server);
  std::vector<std::future<http_response>> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(std::async(std::launch::async, [&] {
      auto c = make_client(server);
      return c.get("/events?after=0&wait=60");
    }));
  std::this_thread::sleep_for(500ms);
  const auto t0 = std::chrono::steady_clock::now();
  server.send_signal(SIGTERM);
  for (auto& f : held) {
    BOOST_TEST_REQUIRE((f.wait_for(5s) == std::future_status::ready));
    auto r = f.get();
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.body == R"({"count":0,"next_after":null,"events":[]})");
  }
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 3s));
  BOOST_TEST(server.wait(10s).clean());
}

BOOST_AUTO_TEST_SUITE_END()
