#include "api/publish_parser.hpp"

#include <boost/test/unit_test.hpp>

using namespace agg;
using agg::api::parse_publish;

namespace {

std::string event_json(const std::string& id, const std::string& extra = "") {
  return R"({"topic":"order.paid","event_id":")" + id +
         R"(","timestamp":"2026-11-24T10:15:00Z","source":"billing","payload":{"amount":42.5})" +
         extra + "}";
}

std::string nested_payload(int depth, const std::string& leaf = "{}") {
  // payload object at level 1, each further level one more {"a": ...}
  std::string s = leaf;
  for (int i = 1; i < depth; ++i) s = "{\"a\":" + s + "}";
  return R"({"topic":"t","event_id":"e","timestamp":"2026-11-24T10:15:00Z","source":"s","payload":)" +
         s + "}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(publish_parser)

BOOST_AUTO_TEST_CASE(three_shapes) {
  const auto one = parse_publish(event_json("a"), 10);
  BOOST_TEST((one.code == errc::ok));
  BOOST_REQUIRE(one.events.size() == 1u);
  BOOST_TEST(one.events[0].topic == "order.paid");
  BOOST_TEST(one.events[0].event_id == "a");
  BOOST_TEST(one.events[0].timestamp == "2026-11-24T10:15:00Z");
  BOOST_TEST(one.events[0].source == "billing");
  BOOST_TEST(one.events[0].payload == R"({"amount":42.5})");

  const auto arr = parse_publish("[" + event_json("a") + "," + event_json("b") + "]", 10);
  BOOST_TEST((arr.code == errc::ok));
  BOOST_REQUIRE(arr.events.size() == 2u);
  BOOST_TEST(arr.events[1].event_id == "b");

  const auto wrapped = parse_publish(R"({"events":[)" + event_json("c") + "]}", 10);
  BOOST_TEST((wrapped.code == errc::ok));
  BOOST_REQUIRE(wrapped.events.size() == 1u);
  BOOST_TEST(wrapped.events[0].event_id == "c");
}

BOOST_AUTO_TEST_CASE(extra_fields_ignored_and_content_hash_ignores_key_order) {
  const auto a = parse_publish(event_json("a", R"(,"extra":[1,2])"), 10);
  const auto b = parse_publish(
      R"({"payload":{ "amount" : 42.5 },"source":"billing","timestamp":"2026-11-24T10:15:00Z","event_id":"a","topic":"order.paid"})",
      10);
  BOOST_REQUIRE((a.code == errc::ok && b.code == errc::ok));
  BOOST_TEST(a.events[0].key_hash == b.events[0].key_hash);
  BOOST_TEST(a.events[0].content_hash == b.events[0].content_hash);
  std::string changed = event_json("a");
  changed.replace(changed.find("42.5"), 4, "43");
  const auto c = parse_publish(changed, 10);
  BOOST_REQUIRE((c.code == errc::ok));
  BOOST_TEST(c.events[0].content_hash != a.events[0].content_hash);
}

BOOST_AUTO_TEST_CASE(not_json_or_wrong_shape_is_invalid_json) {
  for (const char* body : {"", "{", "not json", "\"a string\"", "42", "null", "[1,2",
                           "{\"events\": 5}", "{} {}", "\xff\xfe"}) {
    const auto r = parse_publish(body, 10);
    BOOST_TEST((r.code == errc::invalid_json), body);
    BOOST_TEST(r.events.empty());
  }
  // Invalid UTF-8 inside a string.
  BOOST_TEST((parse_publish(event_json("\xc3\x28"), 10).code == errc::invalid_json));
}

BOOST_AUTO_TEST_CASE(payload_depth_256_accepted_257_refused) {
  const auto ok = parse_publish(nested_payload(256), 10);
  BOOST_TEST((ok.code == errc::ok));
  // A scalar in the innermost object is not a level of its own.
  BOOST_TEST((parse_publish(nested_payload(256, R"({"d":0})"), 10).code == errc::ok));
  BOOST_TEST((parse_publish(nested_payload(257, R"({"d":0})"), 10).code == errc::invalid_json));
  const auto deep = parse_publish(nested_payload(257), 10);
  BOOST_TEST((deep.code == errc::invalid_json));
  BOOST_TEST(deep.message == "payload of event 0 is nested deeper than 256 levels");
  const auto wrapped = parse_publish("{\"events\":[" + nested_payload(256) + "]}", 10);
  BOOST_TEST((wrapped.code == errc::ok));
  const auto brackets = parse_publish(std::string(5000, '['), 10);
  BOOST_TEST((brackets.code == errc::invalid_json));
  BOOST_TEST(brackets.message == "body is nested deeper than 256 levels");
}

BOOST_AUTO_TEST_CASE(batch_limits) {
  const auto empty = parse_publish("[]", 10);
  BOOST_TEST((empty.code == errc::validation_failed));
  BOOST_TEST(empty.message == "the batch is empty: send at least one event");
  BOOST_TEST((parse_publish(R"({"events":[]})", 10).code == errc::validation_failed));
  std::string three = "[" + event_json("a") + "," + event_json("b") + "," + event_json("c") + "]";
  BOOST_TEST((parse_publish(three, 3).code == errc::ok));
  const auto big = parse_publish(three, 2);
  BOOST_TEST((big.code == errc::too_large));
  BOOST_TEST(big.message == "request has 3 events; the limit is 2");
}

BOOST_AUTO_TEST_CASE(every_invalid_field_listed_and_nothing_kept) {
  const std::string body =
      "[" + event_json("ok") +
      R"(,{"topic":"a b","event_id":"","timestamp":"2026-11-24","source":"s","payload":[]})"
      R"(,5,{"topic":"t"})" +
      "]";
  const auto r = parse_publish(body, 10);
  BOOST_TEST((r.code == errc::validation_failed));
  BOOST_TEST(r.events.empty());
  BOOST_REQUIRE(r.details.size() == 9u);
  auto at = [&](std::size_t i) {
    return std::to_string(r.details[i].index) + ":" + r.details[i].field + ":" +
           r.details[i].message;
  };
  BOOST_TEST(at(0) == "1:topic:must not contain whitespace or control characters");
  BOOST_TEST(at(1) == "1:event_id:must not be empty");
  BOOST_TEST(at(2) ==
             "1:timestamp:must include a time of day (e.g. 2026-11-24T10:15:00Z), not only a date");
  BOOST_TEST(at(3) == "1:payload:must be a JSON object");
  BOOST_TEST(at(4) == "2:event:must be a JSON object");
  BOOST_TEST(at(5) == "3:event_id:is required");
  BOOST_TEST(at(6) == "3:timestamp:is required");
  BOOST_TEST(at(7) == "3:source:is required");
  BOOST_TEST(at(8) == "3:payload:is required");
  BOOST_TEST(r.message == "9 invalid field(s) in the request; nothing was stored");
}

BOOST_AUTO_TEST_CASE(wrong_types_and_nul) {
  const auto r = parse_publish(
      R"({"topic":1,"event_id":"x\u0000y","timestamp":null,"source":"s","payload":{}})", 10);
  BOOST_TEST((r.code == errc::validation_failed));
  BOOST_REQUIRE(r.details.size() == 3u);
  BOOST_TEST(r.details[0].field == "topic");
  BOOST_TEST(r.details[0].message == "must be a string");
  BOOST_TEST(r.details[1].field == "event_id");
  BOOST_TEST(r.details[1].message == "must not contain control characters");
  BOOST_TEST(r.details[2].field == "timestamp");
  BOOST_TEST(r.details[2].message == "must be a string");
}

namespace {

api::body_format ndjson(bool lenient = false) {
  api::body_format f;
  f.media = api::media_type::ndjson;
  f.lenient = lenient;
  return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ndjson_lines_blank_crlf_and_no_final_newline) {
  const auto r = parse_publish(
      "\n" + event_json("a") + "\r\n\r\n  \n" + event_json("b") + "\n" + event_json("c"), ndjson(),
      10);
  BOOST_TEST_REQUIRE((r.code == errc::ok));
  BOOST_REQUIRE(r.events.size() == 3u);
  BOOST_TEST(r.events[0].event_id == "a");
  BOOST_TEST(r.events[2].event_id == "c");
  BOOST_TEST(r.events[2].payload == R"({"amount":42.5})");
  BOOST_TEST(r.count == 3u);
  BOOST_TEST(r.positions.empty());
}

BOOST_AUTO_TEST_CASE(ndjson_invalid_lines_name_index_and_line) {
  const std::string body =
      event_json("a") + "\n\n{not json}\n" + event_json("b") + "\n[1]\n" +
      R"({"topic":"t","event_id":"e","timestamp":"yesterday","source":"s","payload":{}})";
  const auto r = parse_publish(body, ndjson(), 10);
  BOOST_TEST_REQUIRE((r.code == errc::validation_failed));
  BOOST_TEST(r.events.empty());
  BOOST_REQUIRE(r.details.size() == 3u);
  BOOST_TEST(r.details[0].index == 1u);
  BOOST_TEST(r.details[0].line == 3u);
  BOOST_TEST(r.details[0].field == "event");
  BOOST_TEST(r.details[0].message.find("not valid UTF-8 JSON") != std::string::npos);
  BOOST_TEST(r.details[1].index == 3u);
  BOOST_TEST(r.details[1].line == 5u);
  BOOST_TEST(r.details[1].message == "must be a JSON object");
  BOOST_TEST(r.details[2].index == 4u);
  BOOST_TEST(r.details[2].line == 6u);
  BOOST_TEST(r.details[2].field == "timestamp");
}

BOOST_AUTO_TEST_CASE(ndjson_limits) {
  std::string three;
  for (const char* id : {"a", "b", "c"}) three += event_json(id) + "\n";
  BOOST_TEST((parse_publish(three, ndjson(), 2).code == errc::too_large));
  BOOST_TEST((parse_publish(three, ndjson(), 3).code == errc::ok));
  const auto empty = parse_publish("\n \r\n", ndjson(), 3);
  BOOST_TEST((empty.code == errc::validation_failed));
  BOOST_TEST(empty.message.find("empty") != std::string::npos);
  const auto deep = parse_publish(event_json("a") + "\n" + nested_payload(257), ndjson(), 3);
  BOOST_TEST((deep.code == errc::invalid_json));
  BOOST_TEST(deep.message.find("line 2") != std::string::npos);
  // Over the limit, too_large wins over a line that stops the parse, wherever it is (found by
  // fuzz_ndjson: tests/fuzz/regressions/ndjson/crash-b0d25cc...).
  const auto deep_body = std::string(300, '[') + "\n";
  for (const auto& over : {event_json("a") + "\n" + nested_payload(257) + "\n" + event_json("b"),
                           event_json("a") + "\n" + deep_body + event_json("b"),
                           nested_payload(257) + "\n" + event_json("a") + "\n" + event_json("b")}) {
    BOOST_TEST((parse_publish(over, ndjson(), 2).code == errc::too_large));
    BOOST_TEST((parse_publish(over, ndjson(), 3).code == errc::invalid_json));
  }
  BOOST_TEST((parse_publish(nested_payload(256), ndjson(), 3).code == errc::ok));
  // A JSON array on one line is one (invalid) event, not a batch.
  const auto arr = parse_publish("[" + event_json("a") + "]", ndjson(), 3);
  BOOST_TEST((arr.code == errc::validation_failed));
}

BOOST_AUTO_TEST_CASE(lenient_keeps_the_valid_events_and_lists_the_others) {
  const std::string bad =
      R"({"topic":"has space","event_id":"x","timestamp":"2026-11-24T10:15:00Z","source":"s"})";
  api::body_format lenient;
  lenient.lenient = true;
  const auto r =
      parse_publish("[" + event_json("a") + "," + bad + "," + event_json("b") + ",7]", lenient, 10);
  BOOST_TEST_REQUIRE((r.code == errc::ok));
  BOOST_REQUIRE(r.events.size() == 2u);
  BOOST_TEST(r.events[0].event_id == "a");
  BOOST_TEST(r.events[1].event_id == "b");
  BOOST_TEST(r.events[1].payload == R"({"amount":42.5})");
  BOOST_TEST((r.positions == std::vector<std::uint32_t>{0, 2}));
  BOOST_TEST(r.count == 4u);
  BOOST_REQUIRE(r.details.size() == 3u);  // topic and payload of event 1, event 3
  BOOST_TEST(r.details[0].index == 1u);
  BOOST_TEST(r.details[0].field == "topic");
  BOOST_TEST(r.details[1].field == "payload");
  BOOST_TEST(r.details[2].index == 3u);
  BOOST_TEST(r.details[2].line == 0u);

  const auto nd = parse_publish(event_json("a") + "\nnope\n", ndjson(true), 10);
  BOOST_TEST_REQUIRE((nd.code == errc::ok));
  BOOST_TEST(nd.events.size() == 1u);
  BOOST_REQUIRE(nd.details.size() == 1u);
  BOOST_TEST(nd.details[0].line == 2u);

  const auto none = parse_publish("nope\n[]", ndjson(true), 10);
  BOOST_TEST_REQUIRE((none.code == errc::ok));
  BOOST_TEST(none.events.empty());
  BOOST_TEST(none.count == 2u);
  // Lenient changes nothing about the request-level errors.
  BOOST_TEST((parse_publish("[]", lenient, 10).code == errc::validation_failed));
  BOOST_TEST((parse_publish("{", lenient, 10).code == errc::invalid_json));
}

// parse_publish reads with the one-pass reader and hands what it does not take to the DOM
// reader; parse_publish_reference is the DOM reader alone. Same answer, field by field.
void require_same_as_reference(const std::string& body, const api::body_format& format,
                               bool one_pass) {
  const auto r = parse_publish(body, format, 10);
  const auto ref = api::parse_publish_reference(body, format, 10);
  BOOST_TEST(r.one_pass == one_pass, body);
  BOOST_TEST(!ref.one_pass);
  BOOST_TEST((r.code == ref.code), body);
  BOOST_TEST(r.message == ref.message);
  BOOST_TEST(r.count == ref.count);
  BOOST_TEST((r.positions == ref.positions));
  BOOST_REQUIRE(r.details.size() == ref.details.size());
  for (std::size_t i = 0; i < r.details.size(); ++i) {
    BOOST_TEST(r.details[i].index == ref.details[i].index);
    BOOST_TEST(r.details[i].field == ref.details[i].field);
    BOOST_TEST(r.details[i].message == ref.details[i].message);
  }
  BOOST_REQUIRE(r.events.size() == ref.events.size());
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    const auto &a = r.events[i], &b = ref.events[i];
    BOOST_TEST(a.topic == b.topic);
    BOOST_TEST(a.event_id == b.event_id);
    BOOST_TEST(a.timestamp == b.timestamp);
    BOOST_TEST(a.source == b.source);
    BOOST_TEST(a.payload == b.payload);
    BOOST_TEST(a.key_hash == b.key_hash);
    BOOST_TEST(a.content_hash == b.content_hash);
  }
}

std::string with_payload(const std::string& payload, const std::string& id = "e") {
  return R"({"topic":"t","event_id":")" + id +
         R"(","timestamp":"2026-11-24T10:15:00Z","source":"s","payload":)" + payload + "}";
}

BOOST_AUTO_TEST_CASE(one_pass_reader_takes_what_publishers_send) {
  const api::body_format json;
  api::body_format lenient;
  lenient.lenient = true;
  const std::string payload =
      R"({"a":1.0,"b":[1e2,"x\u0041\n",true,null,[],{}],"c":{"d":{"e":-7}},)"
      R"("big":18446744073709551615,"neg":-9223372036854775808,"f":42.5,"huge":1e999})";
  const auto r = parse_publish(with_payload(payload), 10);
  BOOST_TEST_REQUIRE((r.code == errc::ok));
  BOOST_TEST(r.one_pass);
  BOOST_TEST(r.events[0].payload ==
             R"({"a":1,"b":[100,"xA\n",true,null,[],{}],"c":{"d":{"e":-7}},)"
             R"("big":18446744073709551615,"neg":-9223372036854775808,"f":42.5,"huge":1e999})");
  for (const auto& format : {json, lenient}) {
    // The three shapes, members in any order, ignored members of every kind, escapes.
    require_same_as_reference(with_payload(payload), format, true);
    require_same_as_reference("[" + event_json("a") + "," + event_json("b") + "]", format, true);
    require_same_as_reference(R"({"events":[)" + event_json("a") + R"(],"note":{"x":[1]}})", format,
                              true);
    require_same_as_reference(
        R"({"x":[{"y":1}],"payload":{"k":"\ud83d\ude00"},"source":"s\"q","timestamp":)"
        R"("2026-11-24T10:15:00.123+01:00","event_id":"id\\1","topic":"order\u002epaid",)"
        R"("events":null} )",
        format, false);  // "events" after other members: the DOM reader decides the shape
    require_same_as_reference(
        R"({"payload":{"k":"\ud83d\ude00"},"source":"s\"q","timestamp":)"
        R"("2026-11-24T10:15:00.123+01:00","event_id":"id\\1","topic":"order\u002epaid"} )",
        format, true);
    require_same_as_reference("[" + event_json("a", R"(,"events":[1,{"z":[]}])") + "]", format,
                              true);  // inside an array, "events" is an ignored member
    require_same_as_reference(nested_payload(256), format, true);
  }
  // NDJSON: each line.
  require_same_as_reference(event_json("a") + "\n\n" + event_json("b", R"(,"events":1)") + "\r\n",
                            ndjson(false), true);
  require_same_as_reference(event_json("a") + "\n" + event_json("b"), ndjson(true), true);
}

BOOST_AUTO_TEST_CASE(one_pass_reader_hands_the_rest_to_the_dom_reader) {
  std::string many_keys = "{";
  for (int i = 0; i < 65; ++i) many_keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  many_keys += "}";
  api::body_format lenient;
  lenient.lenient = true;
  const std::string bodies[] = {
      with_payload(R"({"a":1,"a":2})"),             // a repeated key: the DOM keeps the last
      with_payload(R"({"a":{"b":1},"\u0061":2})"),  // the same key, escaped
      with_payload(many_keys),                      // past the one-pass reader's 64 members
      R"({"topic":"t","topic":"u","event_id":"e","timestamp":"2026-11-24T10:15:00Z",)"
      R"("source":"s","payload":{}})",  // a field twice
      "[" + event_json("a") + ",7]",    // an invalid event
      "[" + event_json("a") + "," + event_json("a", R"(,"source":5)") + "]",
      with_payload("[]"),
      nested_payload(257),
      "[]",
      "{}",
      "[" + event_json("a") + "] x",
  };
  for (const auto& body : bodies) {
    require_same_as_reference(body, api::body_format{}, false);
    require_same_as_reference(body, lenient, false);
  }
  const auto r = parse_publish(with_payload(R"({"a":1,"a":2})"), 10);
  BOOST_TEST_REQUIRE((r.code == errc::ok));
  BOOST_TEST(r.events[0].payload == R"({"a":2})");
  // Three events against a limit of 2: too_large, from the DOM reader.
  const std::string three =
      "[" + event_json("a") + "," + event_json("b") + "," + event_json("c") + "]";
  BOOST_TEST((parse_publish(three, 2).code == errc::too_large));
  BOOST_TEST(!parse_publish(three, 2).one_pass);
  // NDJSON: a line the one-pass reader gives up on is read again; the others stay its own.
  require_same_as_reference(
      event_json("a") + "\n" + with_payload(R"({"a":1,"a":2})", "b") + "\n" + event_json("c"),
      ndjson(false), false);
  require_same_as_reference(event_json("a") + "\nnope\n" + event_json("c"), ndjson(true), false);
}

BOOST_AUTO_TEST_SUITE_END()
