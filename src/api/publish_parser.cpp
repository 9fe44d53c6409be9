#include "api/publish_parser.hpp"

#include "api/ndjson.hpp"
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
const json::string* string_field(const json::object& o, std::string_view name,
                                 std::vector<field_error>& errors) {
  const auto* v = o.if_contains(name);
  if (!v) {
    errors.push_back({0, std::string(name), "is required"});
    return nullptr;
  }
  if (!v->is_string()) {
    errors.push_back({0, std::string(name), "must be a string"});
    return nullptr;
  }
  return &v->get_string();
}

void check(std::optional<std::string> problem, std::string_view name,
           std::vector<field_error>& errors) {
  if (problem) errors.push_back({0, std::string(name), std::move(*problem)});
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

// The events of one request as they are taken, in request order, whatever the body's shape.
struct batch {
  bool lenient = false;
  parse_result r;
  std::vector<field_spans> spans;
  std::string scratch;              // the payload's compact text, reused between events
  std::vector<field_error> errors;  // of the event being taken

  // Records the errors of the event at `index` (`line` 0 unless NDJSON).
  void refuse(std::size_t index, std::size_t line) {
    for (auto& e : errors) {
      e.index = index;
      e.line = line;
      r.details.push_back(std::move(e));
    }
    errors.clear();
  }
  // All or nothing: once an event is invalid the request is refused, so nothing more is built.
  bool building() const { return lenient || r.details.empty(); }
};

// The one place that turns one parsed event object into an event, or into its field errors
// (every invalid field). Returns false for a payload nested too deep (a 400 for the whole
// body, not a 422).
bool take_event(const json::value& v, std::size_t index, std::size_t line, batch& b) {
  auto& errors = b.errors;
  const auto* o = v.if_object();
  if (!o) {
    errors.push_back({0, "event", "must be a JSON object"});
    b.refuse(index, line);
    return true;
  }
  const auto* topic = string_field(*o, "topic", errors);
  if (topic) check(check_topic(view(*topic)), "topic", errors);
  const auto* id = string_field(*o, "event_id", errors);
  if (id) check(check_text(view(*id)), "event_id", errors);
  const auto* ts = string_field(*o, "timestamp", errors);
  if (ts) check(check_timestamp(view(*ts)), "timestamp", errors);
  const auto* source = string_field(*o, "source", errors);
  if (source) check(check_text(view(*source)), "source", errors);
  const auto* payload = o->if_contains("payload");
  if (!payload) {
    errors.push_back({0, "payload", "is required"});
  } else if (!payload->is_object()) {
    errors.push_back({0, "payload", "must be a JSON object"});
  } else if (depth_of(*payload, max_payload_depth) > max_payload_depth) {
    return false;
  }
  if (!errors.empty()) {
    b.refuse(index, line);
    return true;
  }
  if (!b.building()) return true;

  event e;
  e.key_hash = key_hash(view(*topic), view(*id));
  e.content_hash = hash_bytes(view(*source), hash_bytes(view(*ts), hash_json_value(*payload)));
  b.scratch.clear();
  append_json_value(b.scratch, *payload);
  field_spans& sp = b.spans.emplace_back();
  append_text(b.r.text, view(*topic), sp, 0);
  append_text(b.r.text, view(*id), sp, 1);
  append_text(b.r.text, view(*ts), sp, 2);
  append_text(b.r.text, view(*source), sp, 3);
  append_text(b.r.text, b.scratch, sp, 4);
  b.r.events.push_back(e);
  if (b.lenient) b.r.positions.push_back(static_cast<std::uint32_t>(index));
  return true;
}

parse_result failure(errc code, std::string message) {
  parse_result r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

parse_result too_many(std::string_view count, std::size_t max_batch) {
  return failure(errc::too_large, "request has " + std::string(count) + " events; the limit is " +
                                      std::to_string(max_batch));
}

parse_result too_deep(std::string_view where) {
  return failure(errc::invalid_json, std::string(where) + " is nested deeper than " +
                                         std::to_string(max_payload_depth) + " levels");
}

// The request's outcome once every event was taken.
parse_result finish(batch& b, std::size_t count) {
  parse_result& r = b.r;
  r.count = count;
  if (count == 0)
    return failure(errc::validation_failed, "the batch is empty: send at least one event");
  if (!r.details.empty() && !b.lenient) {
    r.code = errc::validation_failed;
    r.message =
        std::to_string(r.details.size()) + " invalid field(s) in the request; nothing was stored";
    r.events.clear();
    r.text.clear();
    return std::move(r);
  }
  // The text is complete: point the events at it.
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    std::string_view* fields[] = {&r.events[i].topic, &r.events[i].event_id, &r.events[i].timestamp,
                                  &r.events[i].source, &r.events[i].payload};
    for (int f = 0; f < 5; ++f) *fields[f] = {r.text.data() + b.spans[i].at[f], b.spans[i].size[f]};
  }
  return std::move(r);
}

json::parse_options parse_limits() {
  json::parse_options popts;
  popts.max_depth = max_body_depth;
  return popts;
}

parse_result parse_json(std::string_view body, bool lenient, std::size_t max_batch) {
  // Small bodies parse without touching the heap; larger ones grow the arena in blocks.
  unsigned char stack[8192];
  json::monotonic_resource arena(stack, sizeof stack);
  json::parser p(&arena, parse_limits());
  boost::system::error_code ec;
  // write() parses one complete value and fails on trailing data.
  const std::size_t used = p.write(body.data(), body.size(), ec);
  if (ec) {
    if (ec == json::error::too_deep) return too_deep("body");
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

  const std::size_t n = list ? list->size() : 1;
  if (n > max_batch) return too_many(std::to_string(n), max_batch);
  batch b;
  b.lenient = lenient;
  b.r.events.reserve(n);
  b.r.text.reserve(body.size());  // compact fields are rarely longer than the body
  b.spans.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (!take_event(list ? (*list)[i] : root, i, 0, b))
      return too_deep("payload of event " + std::to_string(i));
  return finish(b, n);
}

parse_result parse_ndjson(std::string_view body, bool lenient, std::size_t max_batch) {
  // One parser for every line; each line's value lives in an arena of its own, on the stack
  // while it fits, so the body never becomes one document.
  json::parser p(json::storage_ptr(), parse_limits());
  batch b;
  b.lenient = lenient;
  b.r.text.reserve(body.size());
  ndjson_lines lines(body);
  std::size_t index = 0;
  // A line that stops the parse (nested too deep) is reported only when the request is within
  // the batch limit: over it, the answer is too_large whatever else is wrong, as every line
  // that does not stop the parse gets.
  auto stopped_at = [&](parse_result r) {
    auto rest = lines;  // the lines after this one
    for (std::size_t n = index + 1; rest.next(); ++n)
      if (n == max_batch) return too_many("more than " + std::to_string(max_batch), max_batch);
    return r;
  };
  for (auto line = lines.next(); line; line = lines.next(), ++index) {
    if (index == max_batch) return too_many("more than " + std::to_string(max_batch), max_batch);
    unsigned char stack[4096];
    json::monotonic_resource arena(stack, sizeof stack);
    p.reset(&arena);
    boost::system::error_code ec;
    const std::size_t used = p.write(line->text.data(), line->text.size(), ec);
    if (ec == json::error::too_deep)
      return stopped_at(too_deep("line " + std::to_string(line->number)));
    if (ec) {
      b.errors.push_back({0, "event",
                          "line is not valid UTF-8 JSON: " + ec.message() + " (near byte " +
                              std::to_string(used) + " of the line)"});
      b.refuse(index, line->number);
      continue;
    }
    const json::value v = p.release();
    if (!take_event(v, index, line->number, b))
      return stopped_at(too_deep("payload of event " + std::to_string(index) + " (line " +
                                 std::to_string(line->number) + ")"));
  }
  return finish(b, index);
}

}  // namespace

parse_result parse_publish(std::string_view body, const body_format& format,
                           std::size_t max_batch) {
  return format.media == media_type::ndjson ? parse_ndjson(body, format.lenient, max_batch)
                                            : parse_json(body, format.lenient, max_batch);
}

parse_result parse_publish(std::string_view body, std::size_t max_batch) {
  return parse_json(body, false, max_batch);
}

}  // namespace agg::api
