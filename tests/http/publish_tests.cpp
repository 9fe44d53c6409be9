// POST /publish: the three body shapes, seq order, round trip of values, duplicates
// (same request, later request, after SIGTERM and after kill -9) and conflicts.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <boost/algorithm/string/case_conv.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <string>
#include <vector>

using namespace agg::test;
using namespace std::chrono_literals;

namespace {

bool contains_ci(std::string_view line, std::string_view word) {
  return boost::algorithm::to_lower_copy(std::string(line)).find(word) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(publish)

BOOST_AUTO_TEST_CASE(three_body_shapes_accepted_with_increasing_seq) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);

  auto s1 = check_publish(c.post_json("/publish", single_body(make_event("order.paid", "a"))), 1, 1,
                          0, {{"order.paid", "a", "accepted"}});
  auto s2 = check_publish(
      c.post_json("/publish",
                  array_body({make_event("order.paid", "b"), make_event("user.created", "c")})),
      2, 2, 0, {{"order.paid", "b", "accepted"}, {"user.created", "c", "accepted"}});
  auto s3 = check_publish(c.post_json("/publish", envelope_body({make_event("user.created", "d"),
                                                                 make_event("order.paid", "e"),
                                                                 make_event("audit", "f")})),
                          3, 3, 0,
                          {{"user.created", "d", "accepted"},
                           {"order.paid", "e", "accepted"},
                           {"audit", "f", "accepted"}});

  std::vector<std::int64_t> seqs;
  for (auto* v : {&s1, &s2, &s3}) seqs.insert(seqs.end(), v->begin(), v->end());
  BOOST_TEST_REQUIRE(seqs.size() == 6u);
  BOOST_TEST(seqs[0] > 0);
  for (std::size_t i = 1; i < seqs.size(); ++i)
    BOOST_TEST(seqs[i - 1] < seqs[i], "seq increases at " << i);

  auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 6u);
  char const* ids[] = {"a", "b", "c", "d", "e", "f"};
  char const* topics[] = {"order.paid",   "order.paid", "user.created",
                          "user.created", "order.paid", "audit"};
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST(as_string(at(events[i], "event_id")) == ids[i]);
    BOOST_TEST(as_string(at(events[i], "topic")) == topics[i]);
    BOOST_TEST(as_int(at(events[i], "seq")) == seqs[i]);
  }
  check_stats(get_stats(c), {6, 6, 0, 0, {{"audit", 1}, {"order.paid", 3}, {"user.created", 2}}});
}

BOOST_AUTO_TEST_CASE(payload_numbers_and_timestamp_come_back_as_sent) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);

  // Raw text so the number spellings are exactly what a publisher writes.
  std::string const payload_text =
      R"({"order":1042,"amount":42.5,"small":0.1,"neg":-7,"exp":1.5e300,"big":9007199254740993,)"
      R"("zero":0,"t":true,"f":false,"n":null,"s":"h\u00e9llo \"q\" \\ / \n \u2713 \ud83d\ude00",)"
      R"("arr":[1,[2,[3]],{"k":"v"}],"empty_o":{},"empty_a":[],"nested":{"a":{"b":{"c":[]}}}})";
  struct sent {
    std::string event_id, timestamp;
  };
  std::vector<sent> cases = {
      {"rt-1", "2026-11-24T10:15:00.123Z"},
      {"rt-2", "2026-11-24T10:15:00Z"},
      {"rt-3", "2026-11-24T10:15:00.123456+07:00"},
      {"rt-4", "2026-11-24T10:15:00-05:30"},
      {"rt-5", "2026-11-24T10:15:00"},  // no offset: UTC, and still returned as sent
      {"rt-\u00e9\u2713", "2026-02-28T23:59:59.9Z"},
  };
  std::string body = "[";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (i) body += ",";
    body += R"({"topic":"round.trip","event_id":)" + to_text(json::value(cases[i].event_id)) +
            R"(,"timestamp":")" + cases[i].timestamp + R"(","source":"s\u00f8urce","payload":)" +
            payload_text + "}";
  }
  body += "]";
  std::vector<expected_result> want;
  for (auto const& s : cases) want.push_back({"round.trip", s.event_id, "accepted"});
  check_publish(c.post_json("/publish", body), 6, 6, 0, want);

  auto const payload = parse_json(payload_text);
  auto events = fetch_all_events(c, "round.trip");
  BOOST_TEST_REQUIRE(events.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    BOOST_TEST_CONTEXT("event " << to_text(events[i])) {
      BOOST_TEST(as_string(at(events[i], "event_id")) == cases[i].event_id);
      BOOST_TEST(as_string(at(events[i], "timestamp")) == cases[i].timestamp);
      BOOST_TEST(as_string(at(events[i], "source")) == "s\u00f8urce");
      BOOST_TEST((at(events[i], "payload") == payload), "payload is the same JSON value");
      auto const& p = as_object(at(events[i], "payload"));
      // Integers stay integers (no 1042.0), doubles stay doubles, 2^53+1 is not rounded.
      BOOST_TEST(at(p, "order").is_int64());
      BOOST_TEST((at(p, "amount").is_double() && at(p, "amount").get_double() == 42.5));
      BOOST_TEST((at(p, "big").is_int64() && at(p, "big").get_int64() == 9007199254740993LL));
      BOOST_TEST(is_rfc3339_utc_like(as_string(at(events[i], "received_at"))));
      for (char const* k :
           {"seq", "topic", "event_id", "timestamp", "source", "payload", "received_at"})
        BOOST_TEST(events[i].contains(k), "event has " << k);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(dedup)

BOOST_AUTO_TEST_CASE(duplicates_within_one_request) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto s = check_publish(
      c.post_json("/publish", array_body({make_event("t", "a"), make_event("t", "a"),
                                          make_event("t", "b"), make_event("t", "a")})),
      4, 2, 2,
      {{"t", "a", "accepted"},
       {"t", "a", "duplicate"},
       {"t", "b", "accepted"},
       {"t", "a", "duplicate"}});
  BOOST_TEST(s[1] == s[0]);
  BOOST_TEST(s[3] == s[0]);
  BOOST_TEST(s[2] > s[0]);
  auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 2u);
  BOOST_TEST(as_int(at(events[0], "seq")) == s[0]);
  BOOST_TEST(as_int(at(events[1], "seq")) == s[2]);
  check_stats(get_stats(c), {4, 2, 2, 0, {{"t", 2}}});
}

BOOST_AUTO_TEST_CASE(duplicates_across_requests_keep_the_stored_seq) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto first = check_publish(
      c.post_json("/publish", array_body({make_event("t", "a"), make_event("t", "b")})), 2, 2, 0,
      {{"t", "a", "accepted"}, {"t", "b", "accepted"}});
  auto second = check_publish(
      c.post_json("/publish",
                  array_body({make_event("t", "b"), make_event("t", "c"), make_event("t", "a")})),
      3, 1, 2, {{"t", "b", "duplicate"}, {"t", "c", "accepted"}, {"t", "a", "duplicate"}});
  BOOST_TEST(second[0] == first[1]);
  BOOST_TEST(second[2] == first[0]);
  BOOST_TEST(second[1] > first[1]);
  // Same event_id under another topic is another event.
  auto third = check_publish(c.post_json("/publish", single_body(make_event("other", "a"))), 1, 1,
                             0, {{"other", "a", "accepted"}});
  BOOST_TEST(third[0] > second[1]);
  auto again = check_publish(c.post_json("/publish", single_body(make_event("t", "a"))), 1, 0, 1,
                             {{"t", "a", "duplicate"}});
  BOOST_TEST(again[0] == first[0]);

  BOOST_TEST(fetch_all_events(c).size() == 4u);
  check_stats(get_stats(c), {7, 4, 3, 0, {{"other", 1}, {"t", 3}}});
}

BOOST_AUTO_TEST_CASE(identity_is_byte_exact) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  // "A" vs "a", precomposed vs decomposed e-acute, trailing dot: all different keys.
  check_publish(
      c.post_json("/publish", array_body({make_event("t", "id"), make_event("t", "ID"),
                                          make_event("t", "\u00e9"), make_event("t", "e\u0301"),
                                          make_event("t.", "id"), make_event("T", "id")})),
      6, 6, 0,
      {{"t", "id", "accepted"},
       {"t", "ID", "accepted"},
       {"t", "\u00e9", "accepted"},
       {"t", "e\u0301", "accepted"},
       {"t.", "id", "accepted"},
       {"T", "id", "accepted"}});
  BOOST_TEST(fetch_all_events(c).size() == 6u);
}

BOOST_AUTO_TEST_CASE(every_duplicate_is_logged_with_topic_and_event_id) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::string const topic = "dup.log.topic";
  std::string const id = "dup-log-id-7f3a";
  check_publish(c.post_json("/publish", single_body(make_event(topic, id))), 1, 1, 0,
                {{topic, id, "accepted"}});
  check_publish(c.post_json("/publish", array_body({make_event(topic, id), make_event(topic, id)})),
                2, 0, 2, {{topic, id, "duplicate"}, {topic, id, "duplicate"}});
  auto is_dup_line = [&](std::string_view line) {
    return line.find(topic) != std::string_view::npos && line.find(id) != std::string_view::npos &&
           contains_ci(line, "duplicate");
  };
  // Logging may be asynchronous ("without slowing intake"): wait for it.
  BOOST_TEST(srv.wait_for_log_lines(is_dup_line, 2, 5s), "two duplicate lines; log:\n"
                                                             << srv.log());
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(srv.log_lines(is_dup_line).size() == 2u, "one line per duplicate; log:\n"
                                                          << srv.log());
}

namespace {

// Publishes two events, stops the server with `stop` (which also checks how it ended),
// starts it again on the same file and re-sends them around one new event: both are
// duplicates with their first seq, the new one gets a larger seq, and the counters are
// exact (they are committed with the events, so this holds after kill -9 as well).
void check_dedup_survives(server_process& srv, const std::function<void()>& stop) {
  std::vector<std::int64_t> first;
  {
    auto c = make_client(srv);
    first = check_publish(
        c.post_json("/publish", array_body({make_event("t", "a"), make_event("u", "b")})), 2, 2, 0,
        {{"t", "a", "accepted"}, {"u", "b", "accepted"}});
  }
  stop();
  srv.start();
  auto c = make_client(srv);
  auto second = check_publish(
      c.post_json("/publish",
                  array_body({make_event("t", "a"), make_event("t", "c"), make_event("u", "b")})),
      3, 1, 2, {{"t", "a", "duplicate"}, {"t", "c", "accepted"}, {"u", "b", "duplicate"}});
  BOOST_TEST(second[0] == first[0]);
  BOOST_TEST(second[2] == first[1]);
  BOOST_TEST(second[1] > first[1], "new seq after restart is larger than every earlier one");
  BOOST_TEST(fetch_all_events(c).size() == 3u);
  check_stats(get_stats(c), {5, 3, 2, 0, {{"t", 2}, {"u", 1}}});
}

}  // namespace

BOOST_AUTO_TEST_CASE(duplicates_after_graceful_restart) {
  server_process srv;
  log_on_failure guard(srv);
  check_dedup_survives(srv, [&] {
    auto exit = srv.terminate();
    BOOST_TEST(exit.clean(), exit);
  });
}

BOOST_AUTO_TEST_CASE(duplicates_after_kill9) {
  server_process srv;
  log_on_failure guard(srv);
  check_dedup_survives(srv, [&] {
    auto exit = srv.kill9();
    BOOST_TEST(exit.signal == SIGKILL, exit);
  });
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(conflict)

BOOST_AUTO_TEST_CASE(different_payload_source_or_timestamp_is_a_conflict) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto const original =
      make_event("orders", "k", {{"amount", 10}}, "2026-11-24T10:15:00Z", "billing");
  auto s = check_publish(c.post_json("/publish", single_body(original)), 1, 1, 0,
                         {{"orders", "k", "accepted"}});

  auto other_payload =
      make_event("orders", "k", {{"amount", 11}}, "2026-11-24T10:15:00Z", "billing");
  auto other_source =
      make_event("orders", "k", {{"amount", 10}}, "2026-11-24T10:15:00Z", "shipping");
  auto other_time = make_event("orders", "k", {{"amount", 10}}, "2026-11-24T10:16:00Z", "billing");

  auto r1 = check_publish(c.post_json("/publish", single_body(other_payload)), 1, 0, 1,
                          {{"orders", "k", "conflict"}});
  auto r2 = check_publish(
      c.post_json("/publish", array_body({other_source, original, other_time})), 3, 0, 3,
      {{"orders", "k", "conflict"}, {"orders", "k", "duplicate"}, {"orders", "k", "conflict"}});
  BOOST_TEST(r1[0] == s[0]);
  for (auto seq : r2) BOOST_TEST(seq == s[0]);

  // The first copy wins.
  auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST((at(events[0], "payload") == json::value(json::object{{"amount", 10}})));
  BOOST_TEST(as_string(at(events[0], "source")) == "billing");
  BOOST_TEST(as_string(at(events[0], "timestamp")) == "2026-11-24T10:15:00Z");
  check_stats(get_stats(c), {5, 1, 4, 3, {{"orders", 1}}});
}

BOOST_AUTO_TEST_CASE(conflict_within_one_request) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto s = check_publish(
      c.post_json("/publish",
                  array_body({make_event("t", "x", {{"v", 1}}), make_event("t", "x", {{"v", 2}}),
                              make_event("t", "x", {{"v", 1}})})),
      3, 1, 2, {{"t", "x", "accepted"}, {"t", "x", "conflict"}, {"t", "x", "duplicate"}});
  BOOST_TEST(s[1] == s[0]);
  BOOST_TEST(s[2] == s[0]);
  auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST((at(events[0], "payload") == json::value(json::object{{"v", 1}})));
  check_stats(get_stats(c), {3, 1, 2, 1, {{"t", 1}}});
}

BOOST_AUTO_TEST_CASE(same_value_with_other_key_order_whitespace_or_escapes_is_a_duplicate) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::string const first =
      R"({"topic":"fmt","event_id":"k1","timestamp":"2026-11-24T10:15:00Z","source":"svc",)"
      R"("payload":{"a":1,"b":"A","c":[1,2,{"x":null,"y":"\u00e9"}],"d":{"e":true}}})";
  // Keys reordered (top level and inside payload), whitespace, "\u0041" for "A",
  // an escaped source, a raw UTF-8 e-acute, and an unknown top-level field (ignored).
  std::string const second =
      "{ \"payload\" : { \"d\" : { \"e\" : true } ,\n \"c\" : [ 1 , 2 , { \"y\" : \"\xC3\xA9\", "
      "\"x\" : null } ] ,"
      " \"b\" : \"\\u0041\" , \"a\" : 1 } ,\r\n\t\"source\" : \"\\u0073vc\", \"event_id\" : \"k1\" "
      ","
      " \"extra\" : {\"ignored\": [1]}, \"timestamp\" : \"2026-11-24T10:15:00Z\" , \"topic\" : "
      "\"fmt\" }";
  // Escapes in the key fields decode to the same strings.
  std::string const third =
      R"({"topic":"f\u006dt","event_id":"k\u0031","timestamp":"2026-11-24T10:15:00Z","source":"svc",)"
      R"("payload":{"d":{"e":true},"c":[1,2,{"y":"\u00E9","x":null}],"b":"A","a":1}})";
  auto s = check_publish(c.post_json("/publish", first), 1, 1, 0, {{"fmt", "k1", "accepted"}});
  auto s2 = check_publish(c.post_json("/publish", second), 1, 0, 1, {{"fmt", "k1", "duplicate"}});
  auto s3 = check_publish(c.post_json("/publish", third), 1, 0, 1, {{"fmt", "k1", "duplicate"}});
  BOOST_TEST(s2[0] == s[0]);
  BOOST_TEST(s3[0] == s[0]);
  check_stats(get_stats(c), {3, 1, 2, 0, {{"fmt", 1}}});
}

BOOST_AUTO_TEST_CASE(conflict_is_logged_as_a_warning) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::string const id = "conflict-log-id-91c2";
  check_publish(c.post_json("/publish", single_body(make_event("cl", id, {{"v", 1}}))), 1, 1, 0,
                {{"cl", id, "accepted"}});
  check_publish(c.post_json("/publish", single_body(make_event("cl", id, {{"v", 2}}))), 1, 0, 1,
                {{"cl", id, "conflict"}});
  auto is_warning = [&](std::string_view line) {
    return line.find(id) != std::string_view::npos &&
           (contains_ci(line, "warn") || contains_ci(line, "conflict"));
  };
  BOOST_TEST(srv.wait_for_log_lines(is_warning, 1, 5s), "a warning naming the event; log:\n"
                                                            << srv.log());
}

BOOST_AUTO_TEST_SUITE_END()
