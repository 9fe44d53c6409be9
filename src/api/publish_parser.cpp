#include "api/publish_parser.hpp"

#include "api/validation.hpp"
#include "core/json_text.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>

#include <optional>

namespace agg::api {
namespace {

namespace json = boost::json;

// The body may wrap an event in {"events": [ {...} ]}: two levels above the event object, one
// for the event itself, then the payload's own levels.
constexpr std::size_t max_body_depth = max_payload_depth + 3;

std::string_view view(const json::string& s) {
  return {s.data(), s.size()};
}

// Nesting depth of v (a scalar is 0, {} or [] is 1); stops counting once past `limit`.
std::size_t depth_of(const json::value& v, std::size_t limit) {
  const auto* o = v.if_object();
  const auto* a = v.if_array();
  if (!o && !a) return 0;
  if (limit == 0) return 1;  // one level past the limit is enough to refuse
  std::size_t inner = 0;
  if (o)
    for (const auto& kv : *o) inner = std::max(inner, depth_of(kv.value(), limit - 1));
  else
    for (const auto& e : *a) inner = std::max(inner, depth_of(e, limit - 1));
  return inner + 1;
}

// A required string member; records a field_error when missing or not a string.
const json::string* string_field(const json::object& o, std::string_view name, std::size_t index,
                                 std::vector<field_error>& errors) {
  const auto* v = o.if_contains(name);
  if (!v) {
    errors.push_back({index, std::string(name), "is required"});
    return nullptr;
  }
  if (!v->is_string()) {
    errors.push_back({index, std::string(name), "must be a string"});
    return nullptr;
  }
  return &v->get_string();
}

void check(std::optional<std::string> problem, std::string_view name, std::size_t index,
           std::vector<field_error>& errors) {
  if (problem) errors.push_back({index, std::string(name), std::move(*problem)});
}

// Where one event's fields sit in parse_result::text, until the text stops growing.
struct field_spans {
  std::size_t at[5];
  std::size_t size[5];
};

void append_text(std::vector<char>& text, std::string_view s, field_spans& spans, int field) {
  spans.at[field] = text.size();
  spans.size[field] = s.size();
  text.insert(text.end(), s.begin(), s.end());
}

// Validates one element; on success appends its fields to `text` and an event whose views are
// set once `text` is complete. Records every field error otherwise. Returns false for a payload
// nested too deep (a 400 for the whole body, not a 422). `scratch` is reused between calls.
bool take_event(const json::value& v, std::size_t index, parse_result& r,
                std::vector<field_spans>& spans, std::string& scratch) {
  auto& errors = r.details;
  const auto* o = v.if_object();
  if (!o) {
    errors.push_back({index, "event", "must be a JSON object"});
    return true;
  }
  const auto* topic = string_field(*o, "topic", index, errors);
  if (topic) check(check_topic(view(*topic)), "topic", index, errors);
  const auto* id = string_field(*o, "event_id", index, errors);
  if (id) check(check_text(view(*id)), "event_id", index, errors);
  const auto* ts = string_field(*o, "timestamp", index, errors);
  if (ts) check(check_timestamp(view(*ts)), "timestamp", index, errors);
  const auto* source = string_field(*o, "source", index, errors);
  if (source) check(check_text(view(*source)), "source", index, errors);
  const auto* payload = o->if_contains("payload");
  if (!payload) {
    errors.push_back({index, "payload", "is required"});
  } else if (!payload->is_object()) {
    errors.push_back({index, "payload", "must be a JSON object"});
  } else if (depth_of(*payload, max_payload_depth) > max_payload_depth) {
    return false;
  }
  if (!errors.empty()) return true;  // the request will be refused: build nothing more

  event e;
  e.key_hash = key_hash(view(*topic), view(*id));
  e.content_hash = hash_bytes(view(*source), hash_bytes(view(*ts), hash_json_value(*payload)));
  scratch.clear();
  append_json_value(scratch, *payload);
  field_spans& sp = spans.emplace_back();
  append_text(r.text, view(*topic), sp, 0);
  append_text(r.text, view(*id), sp, 1);
  append_text(r.text, view(*ts), sp, 2);
  append_text(r.text, view(*source), sp, 3);
  append_text(r.text, scratch, sp, 4);
  r.events.push_back(e);
  return true;
}

parse_result failure(errc code, std::string message) {
  parse_result r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

}  // namespace

parse_result parse_publish(std::string_view body, std::size_t max_batch) {
  // Small bodies parse without touching the heap; larger ones grow the arena in blocks.
  unsigned char stack[8192];
  json::monotonic_resource arena(stack, sizeof stack);
  json::parse_options popts;
  popts.max_depth = max_body_depth;
  json::parser p(&arena, popts);
  boost::system::error_code ec;
  // write() parses one complete value and fails on trailing data.
  const std::size_t used = p.write(body.data(), body.size(), ec);
  if (ec) {
    if (ec == json::error::too_deep)
      return failure(errc::invalid_json,
                     "body is nested deeper than " + std::to_string(max_payload_depth) + " levels");
    return failure(errc::invalid_json, "body is not valid UTF-8 JSON: " + ec.message() +
                                           " (near byte " + std::to_string(used) + ")");
  }
  const json::value root = p.release();

  const json::array* list = nullptr;
  if (const auto* o = root.if_object()) {
    if (const auto* wrapped = o->if_contains("events")) {
      list = wrapped->if_array();
      if (!list) return failure(errc::invalid_json, "\"events\" must be an array of events");
    }
  } else if (!(list = root.if_array())) {
    return failure(errc::invalid_json,
                   "body must be an event object, an array of events or {\"events\": [...]}");
  }

  parse_result r;
  const std::size_t n = list ? list->size() : 1;
  if (n > max_batch)
    return failure(errc::too_large, "request has " + std::to_string(n) + " events; the limit is " +
                                        std::to_string(max_batch));
  if (n == 0)
    return failure(errc::validation_failed, "the batch is empty: send at least one event");
  r.events.reserve(n);
  r.text.reserve(body.size());  // compact fields are rarely longer than the body
  std::vector<field_spans> spans;
  spans.reserve(n);
  std::string scratch;
  for (std::size_t i = 0; i < n; ++i) {
    if (!take_event(list ? (*list)[i] : root, i, r, spans, scratch))
      return failure(errc::invalid_json, "payload of event " + std::to_string(i) +
                                             " is nested deeper than " +
                                             std::to_string(max_payload_depth) + " levels");
  }
  if (!r.details.empty()) {
    r.code = errc::validation_failed;
    r.message =
        std::to_string(r.details.size()) + " invalid field(s) in the request; nothing was stored";
    r.events.clear();
    r.text.clear();
    return r;
  }
  // The text is complete: point the events at it.
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    std::string_view* fields[] = {&r.events[i].topic, &r.events[i].event_id, &r.events[i].timestamp,
                                  &r.events[i].source, &r.events[i].payload};
    for (int f = 0; f < 5; ++f) *fields[f] = {r.text.data() + spans[i].at[f], spans[i].size[f]};
  }
  return r;
}

}  // namespace agg::api
