// Every error status of the contract, with its body {"error","message","details"}, and
// the boundaries just inside each limit.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace agg::test;
using verb = boost::beast::http::verb;

namespace {

// Nothing was stored and no valid event was counted.
void check_nothing_stored(http_client& c) {
  BOOST_TEST(fetch_all_events(c).empty());
  auto s = get_stats(c);
  BOOST_TEST(as_int(at(s, "received")) == 0);
  BOOST_TEST(as_int(at(s, "unique_processed")) == 0);
}

// An event text with `levels` nesting levels in its payload (the payload object is level 1;
// the innermost object holds a number, {"d":0}).
std::string event_with_payload_depth(std::string const& id, std::size_t levels) {
  return R"({"topic":"deep","event_id":")" + id +
         R"(","timestamp":"2026-11-24T10:15:00Z","source":"s","payload":)" +
         nested_object_text(levels) + "}";
}

// The same with an empty innermost object: {"d":{"d":...{}}}.
std::string event_with_empty_innermost(std::string const& id, std::size_t levels) {
  std::string payload;
  for (std::size_t i = 1; i < levels; ++i) payload += "{\"d\":";
  payload += "{}";
  payload.append(levels - 1, '}');
  return R"({"topic":"deep","event_id":")" + id +
         R"(","timestamp":"2026-11-24T10:15:00Z","source":"s","payload":)" + payload + "}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(invalid_json_is_400) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::vector<std::string> bodies = {
      "not json{",
      R"({"topic":"t","event_id":"a")",    // truncated
      R"({"topic":"t","event_id":"a",})",  // trailing comma
      R"("just a string")",                // a JSON string
      "42",                                // a number
      "null",
      "true",
      "",                                               // no body
      single_body(make_event("t", "a")) + " trailing",  // garbage after the value
      // Not UTF-8: a lone 0xFF byte inside a string.
      "{\"topic\":\"t\",\"event_id\":\"\xFF\",\"timestamp\":\"2026-11-24T10:15:00Z\",\"source\":"
      "\"s\","
      "\"payload\":{}}",
  };
  for (auto const& b : bodies) {
    BOOST_TEST_CONTEXT("body: " << b) {
      check_error(c.post_json("/publish", b), 400, "invalid_json");
    }
  }
  check_nothing_stored(c);
  BOOST_TEST(as_int(at(as_object(at(get_stats(c), "rejected")), "invalid")) ==
             static_cast<std::int64_t>(bodies.size()));
}

BOOST_AUTO_TEST_CASE(nesting_deeper_than_256_is_400) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  check_error(c.post_json("/publish", event_with_payload_depth("d257", 257)), 400, "invalid_json");
  check_error(c.post_json("/publish", event_with_empty_innermost("e257", 257)), 400,
              "invalid_json");
  check_error(c.post_json("/publish", "[" + event_with_payload_depth("d300", 300) + "]"), 400,
              "invalid_json");
  // Deep enough to overflow a recursive parser's stack: must be a 400, not a crash.
  check_error(c.post_json("/publish", std::string(100000, '[') + std::string(100000, ']')), 400,
              "invalid_json");
  check_error(c.post_json("/publish", event_with_payload_depth("d100k", 100000)), 400,
              "invalid_json");
  BOOST_TEST(c.get("/health").status == 200u);
  check_nothing_stored(c);
}

BOOST_AUTO_TEST_CASE(payload_nesting_of_exactly_256_is_accepted) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  struct shape {
    std::string id, body, payload;
  };
  std::string const leaf_number = nested_object_text(256);  // innermost {"d":0}
  std::string empty_innermost;                              // innermost {}
  for (int i = 1; i < 256; ++i) empty_innermost += "{\"d\":";
  empty_innermost += "{}" + std::string(255, '}');
  std::vector<shape> shapes = {
      {"empty-innermost", event_with_empty_innermost("empty-innermost", 256), empty_innermost},
      {"single", event_with_payload_depth("single", 256), leaf_number},
      {"array", "[" + event_with_payload_depth("array", 256) + "]", leaf_number},
      {"envelope", "{\"events\":[" + event_with_payload_depth("envelope", 256) + "]}", leaf_number},
  };
  std::size_t accepted = 0;
  for (auto const& sh : shapes) {
    BOOST_TEST_CONTEXT("payload of 256 levels, " << sh.id) {
      auto r = c.post_json("/publish", sh.body);
      BOOST_TEST(r.status == 200u, r.status << " " << r.body);
      if (r.status == 200u) {
        check_publish(r, 1, 1, 0, {{"deep", sh.id, "accepted"}});
        ++accepted;
      }
    }
  }
  auto events = fetch_all_events(c);
  BOOST_TEST(events.size() == accepted);
  for (auto const& e : events) {
    auto id = as_string(at(e, "event_id"));
    BOOST_TEST_CONTEXT("stored " << id) {
      BOOST_TEST(depth_of(at(e, "payload")) == 256u);
      for (auto const& sh : shapes)
        if (sh.id == id) BOOST_TEST((at(e, "payload") == parse_json(sh.payload)));
    }
  }
}

BOOST_AUTO_TEST_CASE(body_over_max_body_is_413) {
  server_process srv({.args = {"--max-body", "1000"}});
  log_on_failure guard(srv);
  // A valid event padded with whitespace to an exact size.
  auto padded = [](std::string const& id, std::size_t size) {
    std::string b = single_body(make_event("size", id));
    BOOST_TEST_REQUIRE(b.size() <= size);
    return b + std::string(size - b.size(), ' ');
  };
  {
    auto c = make_client(srv);
    check_publish(c.post_json("/publish", padded("at-limit", 1000)), 1, 1, 0,
                  {{"size", "at-limit", "accepted"}});
  }
  {
    auto c = make_client(srv);
    check_error(c.post_json("/publish", padded("over", 1001)), 413, "too_large");
  }
  {
    auto c = make_client(srv);
    check_error(c.post_json("/publish", padded("far-over", 8000)), 413, "too_large");
  }
  auto c = make_client(srv);
  auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(as_string(at(events[0], "event_id")) == "at-limit");
  auto s = get_stats(c);
  BOOST_TEST(as_int(at(as_object(at(s, "rejected")), "invalid")) == 2);
}

BOOST_AUTO_TEST_CASE(more_events_than_max_batch_is_413) {
  server_process srv({.args = {"--max-batch", "5"}});
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto batch = [](std::string const& prefix, int n) {
    std::vector<json::object> v;
    for (int i = 0; i < n; ++i) v.push_back(make_event("batch", prefix + std::to_string(i)));
    return v;
  };
  auto r = c.post_json("/publish", array_body(batch("ok", 5)));
  BOOST_TEST(r.status == 200u, r.body);
  check_error(c.post_json("/publish", array_body(batch("arr", 6))), 413, "too_large");
  check_error(c.post_json("/publish", envelope_body(batch("env", 6))), 413, "too_large");
  BOOST_TEST(fetch_all_events(c).size() == 5u);
  check_stats(get_stats(c), {5, 5, 0, 0, {{"batch", 5}}});
}

BOOST_AUTO_TEST_CASE(content_type_rules) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto body = [](char const* id) { return single_body(make_event("ct", id)); };
  check_error(c.request(verb::post, "/publish", body("plain"), {{"Content-Type", "text/plain"}}),
              415, "unsupported_media_type");
  check_error(c.request(verb::post, "/publish", body("xml"), {{"Content-Type", "application/xml"}}),
              415, "unsupported_media_type");
  check_error(c.request(verb::post, "/publish", body("form"),
                        {{"Content-Type", "application/x-www-form-urlencoded"}}),
              415, "unsupported_media_type");
  check_publish(c.request(verb::post, "/publish", body("charset"),
                          {{"Content-Type", "application/json; charset=utf-8"}}),
                1, 1, 0, {{"ct", "charset", "accepted"}});
  check_publish(c.request(verb::post, "/publish", body("none")), 1, 1, 0,
                {{"ct", "none", "accepted"}});
  auto events = fetch_all_events(c);
  BOOST_TEST(events.size() == 2u);
  BOOST_TEST(as_int(at(as_object(at(get_stats(c), "rejected")), "invalid")) == 3);
}

// Media types are case-insensitive (RFC 9110 8.3.1).
BOOST_AUTO_TEST_CASE(content_type_is_case_insensitive) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  check_publish(c.request(verb::post, "/publish", single_body(make_event("ct", "upper")),
                          {{"Content-Type", "Application/JSON"}}),
                1, 1, 0, {{"ct", "upper", "accepted"}});
}

BOOST_AUTO_TEST_CASE(validation_failed_lists_every_invalid_event) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto ev = [](std::string id) { return make_event("valid.topic", std::move(id)); };
  std::vector<json::object> batch;
  std::set<std::pair<std::int64_t, std::string>> want;
  auto bad = [&](json::object e, std::string field) {
    want.emplace(static_cast<std::int64_t>(batch.size()), std::move(field));
    batch.push_back(std::move(e));
  };
  batch.push_back(ev("ok-0"));  // 0: valid
  {
    auto e = ev("x1");
    e.erase("topic");
    bad(e, "topic");
  }  // 1: missing topic
  {
    auto e = ev("x2");
    e["timestamp"] = "2026-11-24";
    bad(e, "timestamp");
  }  // 2: bare date
  {
    auto e = ev("x3");
    e["timestamp"] = "yesterday";
    bad(e, "timestamp");
  }  // 3: text
  {
    auto e = ev("x4");
    e["topic"] = "order paid";
    bad(e, "topic");
  }  // 4: space
  {
    auto e = ev("");
    bad(e, "event_id");
  }  // 5: empty id
  {
    auto e = ev("x6");
    e["payload"] = json::array{1, 2};
    bad(e, "payload");
  }  // 6: not an object
  {
    auto e = ev("x7");
    e["topic"] = std::string(256, 't');
    bad(e, "topic");
  }                             // 7: 256 bytes
  batch.push_back(ev("ok-8"));  // 8: valid
  {
    auto e = ev("x9");
    e.erase("source");
    bad(e, "source");
  }  // 9: missing source
  {
    auto e = ev("x10");
    e.erase("payload");
    bad(e, "payload");
  }  // 10: missing payload
  {
    auto e = ev(std::string(256, 'i'));
    bad(e, "event_id");
  }  // 11: 256 bytes
  {
    auto e = ev("x12");
    e["topic"] = 42;
    bad(e, "topic");
  }  // 12: not a string
  {
    auto e = ev("x13");
    e["source"] = "";
    bad(e, "source");
  }  // 13: empty source
  {
    auto e = ev("x\x07");
    bad(e, "event_id");
  }  // 14: control char
  {
    auto e = ev("x15");
    e["topic"] = "a\tb";
    bad(e, "topic");
  }  // 15: tab
  {
    auto e = ev("x16");
    e["payload"] = "text";
    bad(e, "payload");
  }  // 16: not an object
  {
    auto e = ev("x17");
    e.erase("timestamp");
    bad(e, "timestamp");
  }  // 17: missing
  {
    auto e = ev("x18");
    e["timestamp"] = 1732443300;
    bad(e, "timestamp");
  }  // 18: a number
  {
    auto e = ev("x19");
    std::string t;
    for (int i = 0; i < 128; ++i) t += "\u00e9";
    e["topic"] = t;
    bad(e, "topic");
  }  // 19: 256 bytes, 128 chars
  {
    auto e = ev("x20");
    e["event_id"] = nullptr;
    bad(e, "event_id");
  }                              // 20: null id
  batch.push_back(ev("ok-21"));  // 21: valid

  auto r = c.post_json("/publish", array_body(batch));
  auto body = check_error(r, 422, "validation_failed");
  std::set<std::pair<std::int64_t, std::string>> got;
  if (auto d = body.find("details"); d != body.end() && d->value().is_array()) {
    for (auto const& item : d->value().get_array()) {
      BOOST_TEST_CONTEXT("detail " << to_text(item)) {
        auto const& o = as_object(item);
        BOOST_TEST(at(o, "index").is_number());
        BOOST_TEST(at(o, "field").is_string());
        BOOST_TEST((at(o, "message").is_string() && !at(o, "message").get_string().empty()));
        got.emplace(as_int(at(o, "index")), as_string(at(o, "field")));
      }
    }
  }
  std::vector<std::string> missing, unexpected;
  for (auto const& w : want)
    if (!got.count(w)) missing.push_back(std::to_string(w.first) + ":" + w.second);
  for (auto const& g : got)
    if (!want.count(g)) unexpected.push_back(std::to_string(g.first) + ":" + g.second);
  BOOST_TEST(missing.empty(), "details miss " << missing.size() << " entries, first: "
                                              << (missing.empty() ? "" : missing.front())
                                              << "; body " << r.body);
  BOOST_TEST(unexpected.empty(), "details have " << unexpected.size()
                                                 << " unexpected entries, first: "
                                                 << (unexpected.empty() ? "" : unexpected.front()));
  check_nothing_stored(c);

  // The same batch in the envelope shape, and a single invalid object.
  check_error(c.post_json("/publish", envelope_body(batch)), 422, "validation_failed");
  auto single =
      check_error(c.post_json("/publish", single_body(batch[4])), 422, "validation_failed");
  if (auto d = single.find("details");
      d != single.end() && d->value().is_array() && d->value().get_array().size() == 1) {
    auto const& o = as_object(d->value().get_array()[0]);
    BOOST_TEST(as_int(at(o, "index")) == 0);
    BOOST_TEST(as_string(at(o, "field")) == "topic");
  } else {
    BOOST_TEST(false, "one detail for a single invalid event: " << to_text(single));
  }
  check_nothing_stored(c);
}

// A calendar-impossible date-time is not an RFC 3339 date-time.
BOOST_AUTO_TEST_CASE(impossible_timestamps_are_422) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::vector<json::object> batch = {
      make_event("ts", "a", {}, "2026-13-01T10:15:00Z"),
      make_event("ts", "b", {}, "2026-11-31T10:15:00Z"),
      make_event("ts", "c", {}, "2026-11-24T25:15:00Z"),
      make_event("ts", "d", {}, "2026-11-24T10:61:00Z"),
      make_event("ts", "e", {}, "2026-11-24T10:15:00+25:00"),
  };
  auto body = check_error(c.post_json("/publish", array_body(batch)), 422, "validation_failed");
  if (auto d = body.find("details"); d != body.end() && d->value().is_array())
    BOOST_TEST(d->value().get_array().size() == batch.size(), to_text(body));
  check_nothing_stored(c);
}

BOOST_AUTO_TEST_CASE(values_at_the_limits_are_accepted) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  std::string topic255(255, 't');
  std::string utf8_topic;  // 127 x e-acute + 'x' = 255 bytes
  for (int i = 0; i < 127; ++i) utf8_topic += "\u00e9";
  utf8_topic += "x";
  std::vector<json::object> batch = {
      make_event(topic255, std::string(255, 'i'), {}, default_timestamp, std::string(255, 's')),
      make_event(utf8_topic, "u", {}),
      make_event("a", "1", {}, "2026-11-24T10:15:00Z"),
      make_event("a", "2", {}, "2026-11-24T10:15:00.123456789+07:00"),
      make_event("a", "3", {}, "2026-11-24T10:15:00"),
      make_event("a", "4", {}, "2026-11-24T10:15:00.5-03:30"),
      make_event("a", "any string \u2713 with spaces / and : symbols", {}),
  };
  std::vector<expected_result> want;
  for (auto const& e : batch)
    want.push_back({as_string(at(e, "topic")), as_string(at(e, "event_id")), "accepted"});
  check_publish(c.post_json("/publish", array_body(batch)), 7, 7, 0, want);
  // Other top-level fields are ignored.
  auto extra = make_event("a", "extra");
  extra["priority"] = "high";
  extra["seq"] = 999999;
  check_publish(c.post_json("/publish", single_body(extra)), 1, 1, 0, {{"a", "extra", "accepted"}});
  BOOST_TEST(fetch_all_events(c).size() == 8u);
}

BOOST_AUTO_TEST_CASE(empty_batch_is_422) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  check_error(c.post_json("/publish", "[]"), 422, "validation_failed");
  check_error(c.post_json("/publish", R"({"events":[]})"), 422, "validation_failed");
  check_nothing_stored(c);
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  struct probe {
    verb method;
    char const* target;
    char const* allowed;
  };
  // The read endpoints answer HEAD too, and say so.
  for (auto const& p :
       {probe{verb::get, "/publish", "POST"}, probe{verb::post, "/events", "GET, HEAD"},
        probe{verb::put, "/publish", "POST"}, probe{verb::delete_, "/events", "GET, HEAD"},
        probe{verb::post, "/stats", "GET, HEAD"}, probe{verb::post, "/health", "GET, HEAD"}}) {
    BOOST_TEST_CONTEXT(boost::beast::http::to_string(p.method) << " " << p.target) {
      auto r = c.request(p.method, p.target,
                         p.method == verb::get || p.method == verb::delete_ ? "" : "{}",
                         {{"Content-Type", "application/json"}});
      check_error(r, 405, "method_not_allowed");
      auto allow = r.header("Allow");
      BOOST_TEST(allow.has_value(), "Allow header present");
      if (allow) BOOST_TEST(*allow == p.allowed);
    }
  }
  check_nothing_stored(c);
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  check_error(c.get("/nope"), 404, "not_found");
  check_error(c.post_json("/publish/extra", single_body(make_event("t", "a"))), 404, "not_found");
  check_nothing_stored(c);
}

// A request with more events than the intake queue can ever hold. CONTRACT.md does not
// name this case: 503 says "not now" (and a publisher would retry it forever), 413 says
// "never". The service answers 413 too_large (README, "Where the contract is silent"): the
// consumer compares the request's event count with --queue-capacity before it looks at the
// queue's depth, so the answer is the same whatever the queue holds at that moment.
BOOST_AUTO_TEST_CASE(request_larger_than_queue_capacity_is_refused_whole) {
  server_process srv({.args = {"--queue-capacity", "10"}});
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto batch = [](std::string const& prefix, int n) {
    std::vector<json::object> v;
    for (int i = 0; i < n; ++i) v.push_back(make_event("q", prefix + std::to_string(i)));
    return v;
  };
  auto ok = c.post_json("/publish", array_body(batch("fits-", 10)));
  BOOST_TEST(ok.status == 200u, ok.body);
  auto r = c.post_json("/publish", array_body(batch("over-", 11)));
  check_error(r, 413, "too_large");
  BOOST_TEST(!r.header("Retry-After").has_value(), "413 means never: no Retry-After");
  BOOST_TEST(r.keep_alive, "the body was read whole: the connection stays open");
  auto events = fetch_all_events(c);
  BOOST_TEST(events.size() == 10u);
  auto s = get_stats(c);
  check_stats(s, {10, 10, 0, 0, {{"q", 10}}});
  BOOST_TEST(as_int(at(as_object(at(s, "queue")), "capacity")) == 10);
  // Counted as a refused request (4xx), not as overload.
  auto const& rejected = as_object(at(s, "rejected"));
  BOOST_TEST(as_int(at(rejected, "invalid")) == 1);
  BOOST_TEST(as_int(at(rejected, "overloaded")) == 0);
  BOOST_TEST(c.post_json("/publish", array_body(batch("after-", 3))).status == 200u);
}

// Overload: a queue of 10 events, one request per commit (--batch-max 1) and synchronous
// commits (--sync full), and 8 clients each sending requests of 10 new events. The queue
// holds one request while the consumer commits another, so concurrent requests get 503.
// Which requests are refused depends on timing, so the test asserts what holds for every
// interleaving: each answer is 200 or 503 overloaded with Retry-After; a refused request
// leaves no trace (its events are never sent again, so none of them may be stored);
// rejected.overloaded counts the 503s; the counters agree with the 200s. It runs until it
// has seen 503s (practically always within a few hundred requests; limit 15 s).
BOOST_AUTO_TEST_CASE(concurrent_overload_is_503_with_retry_after_and_refuses_whole_requests) {
  server_process srv({.args = {"--queue-capacity", "10", "--batch-max", "1", "--sync", "full"}});
  log_on_failure guard(srv);
  constexpr std::size_t threads = 8;
  std::mutex mu;
  std::set<event_key> acked, refused;   // guarded by mu
  std::vector<std::string> unexpected;  // guarded by mu
  std::size_t ok = 0, overloaded = 0;   // guarded by mu
  std::atomic<bool> stop{false};
  auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      http_client c(srv.host(), srv.port());
      for (std::size_t n = 0; !stop.load(); ++n) {
        std::vector<json::object> batch;
        std::vector<event_key> keys;
        for (std::size_t i = 0; i < 10; ++i) {
          keys.emplace_back(
              "ovl", "t" + std::to_string(t) + "-r" + std::to_string(n) + "-e" + std::to_string(i));
          batch.push_back(make_event(keys.back().first, keys.back().second));
        }
        http_response r;
        auto ec = c.try_request(verb::post, "/publish", array_body(batch),
                                {{"Content-Type", "application/json"}}, r);
        std::lock_guard lock(mu);
        if (ec) {
          unexpected.push_back("I/O error: " + ec.message());
          return;
        }
        if (r.status == 200) {
          ++ok;
          acked.insert(keys.begin(), keys.end());
        } else if (r.status == 503) {
          ++overloaded;
          refused.insert(keys.begin(), keys.end());
          auto retry = r.header("Retry-After");
          bool const retry_ok = retry && !retry->empty() &&
                                std::all_of(retry->begin(), retry->end(),
                                            [](char ch) { return ch >= '0' && ch <= '9'; });
          bool body_ok = false;
          try {
            auto const doc = r.json();
            auto const& o = as_object(doc);
            body_ok = as_string(at(o, "error")) == "overloaded" && at(o, "message").is_string() &&
                      at(o, "details").is_array();
          } catch (std::exception const&) {
          }
          if (!retry_ok || !body_ok)
            unexpected.push_back("503 without Retry-After seconds or error body: " +
                                 (retry ? *retry : std::string("(no Retry-After)")) + " " + r.body);
        } else {
          unexpected.push_back("status " + std::to_string(r.status) + ": " + r.body);
        }
        if ((overloaded >= 20 && ok >= 20) || std::chrono::steady_clock::now() > deadline)
          stop = true;
      }
    });
  }
  for (auto& th : pool) th.join();
  BOOST_TEST_MESSAGE("overload: " << ok << " requests accepted, " << overloaded
                                  << " refused with 503");
  BOOST_TEST(unexpected.empty(), unexpected.size() << " unexpected answers, first: "
                                                   << (unexpected.empty() ? "" : unexpected[0]));
  BOOST_TEST(overloaded > 0u, "no 503 within 15 s of overload");
  BOOST_TEST(ok > 0u);

  auto c = make_client(srv);
  auto const events = fetch_all_events(c);
  std::set<event_key> stored;
  for (auto const& e : events) stored.insert(key_of(e));
  BOOST_TEST(stored.size() == events.size());
  BOOST_TEST((stored == acked),
             "stored " << stored.size() << " events, acknowledged " << acked.size());
  std::size_t leaked = 0;
  for (auto const& k : refused) leaked += stored.count(k);
  BOOST_TEST(leaked == 0u, "events of 503 requests were stored");
  auto const s = get_stats(c);
  check_stats(s, {static_cast<std::int64_t>(10 * ok),
                  static_cast<std::int64_t>(10 * ok),
                  0,
                  0,
                  {{"ovl", static_cast<std::int64_t>(10 * ok)}}});
  BOOST_TEST(as_int(at(as_object(at(s, "rejected")), "overloaded")) ==
             static_cast<std::int64_t>(overloaded));
  BOOST_TEST(as_int(at(as_object(at(s, "rejected")), "invalid")) == 0);
  BOOST_TEST(as_int(at(as_object(at(s, "queue")), "capacity")) == 10);
}

BOOST_AUTO_TEST_SUITE_END()
