#include "api/publish_parser.hpp"

#include "api/ndjson.hpp"
#include "api/validation.hpp"
#include "core/json_text.hpp"

#include <boost/json/basic_parser_impl.hpp>
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

  // What a line added, to take back when the one-pass path gives up on it.
  struct mark {
    std::size_t events, positions, text;
  };
  mark here() const { return {r.events.size(), r.positions.size(), r.text.size()}; }
  void back_to(const mark& m) {
    r.events.resize(m.events);
    spans.resize(m.events);
    r.positions.resize(m.positions);
    r.text.resize(m.text);
  }
};

// The five fields of a valid event, the payload as compact JSON.
struct event_fields {
  std::string_view topic, event_id, timestamp, source, payload;
};

// The one place that adds a valid event to the batch (both parse paths come here).
void add_event(batch& b, const event_fields& f, std::uint64_t payload_hash, std::size_t index) {
  event e;
  e.key_hash = key_hash(f.topic, f.event_id);
  e.content_hash = hash_bytes(f.source, hash_bytes(f.timestamp, payload_hash));
  field_spans& sp = b.spans.emplace_back();
  append_text(b.r.text, f.topic, sp, 0);
  append_text(b.r.text, f.event_id, sp, 1);
  append_text(b.r.text, f.timestamp, sp, 2);
  append_text(b.r.text, f.source, sp, 3);
  append_text(b.r.text, f.payload, sp, 4);
  b.r.events.push_back(e);
  if (b.lenient) b.r.positions.push_back(static_cast<std::uint32_t>(index));
}

// The DOM path: turns one parsed event object into an event, or into its field errors
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

  b.scratch.clear();
  append_json_value(b.scratch, *payload);
  add_event(b, {view(*topic), view(*id), view(*ts), view(*source), b.scratch},
            hash_json_value(*payload), index);
  return true;
}

// The one-pass path: a SAX handler (Boost.JSON's basic_parser) that validates each event,
// hashes its payload and writes the payload's compact text as it reads, with no DOM and no
// second walk. It takes what publishers send: valid events without repeated member names. On
// anything else (invalid JSON or event, a repeated key, a payload too deep, too many events,
// the wrapper's "events" after other members) it gives up, and the DOM path above, the
// reference, answers with its exact error. Both paths make the same events from every body
// they both accept (fuzz_publish_parser and the unit tests compare them).
class one_pass {
 public:
  // body: one event, an array of events or {"events": [...]}. line: one NDJSON line, an
  // event object (where "events" is an ignored member like any other).
  enum class shape : std::uint8_t { body, line };

  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);

  one_pass(shape s, std::size_t max_batch) : shape_(s), max_batch_(max_batch) {}

  // Before each document: the batch events are added to, and the index of the next event.
  void start(batch& b, std::size_t index) {
    b_ = &b;
    index_ = index;
    stack_.clear();
    keys_.clear();
    payload_depth_ = 0;
    part_.clear();
    done_ = false;
  }
  bool done() const { return done_; }
  std::size_t next_index() const { return index_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) {
    done_ = true;
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code& ec) { return give_up(ec); }
  bool on_comment(json::string_view, json::error_code& ec) { return give_up(ec); }

  bool on_object_begin(json::error_code& ec) {
    switch (const role r = value_role()) {
      case role::root:
        if (shape_ == shape::line) return begin_event();
        stack_.push_back({role::root});
        return true;
      case role::event:
        return begin_event();
      case role::payload:
      case role::in_payload:
        return begin_payload_value(r, '{', ec);
      case role::ignored:
        stack_.push_back({role::ignored});
        return true;
      default:
        return give_up(ec);
    }
  }

  bool on_object_end(std::size_t, json::error_code& ec) {
    frame& f = stack_.back();
    switch (f.what) {
      case role::event:
        return end_event(ec);
      case role::payload:
      case role::in_payload:
        payload_.push_back('}');
        keys_.resize(f.keys_from);
        return end_payload_value(json_hash::object(f.hash));
      case role::root:  // {}: an event without fields
        return give_up(ec);
      default:  // the wrapper, or an ignored object
        stack_.pop_back();
        return true;
    }
  }

  bool on_array_begin(json::error_code& ec) {
    switch (const role r = value_role()) {
      case role::root:
        if (shape_ == shape::line) return give_up(ec);
        stack_.push_back({role::list});
        return true;
      case role::list:
        stack_.push_back({role::list});
        return true;
      case role::in_payload:
        return begin_payload_value(r, '[', ec);
      case role::ignored:
        stack_.push_back({role::ignored});
        return true;
      default:
        return give_up(ec);
    }
  }

  bool on_array_end(std::size_t, json::error_code&) {
    frame& f = stack_.back();
    if (f.what == role::in_payload) {
      payload_.push_back(']');
      return end_payload_value(f.hash);
    }
    stack_.pop_back();  // the list of events, or an ignored array
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    part_.append(s.data(), s.size());
    return true;
  }

  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    const std::string_view k = whole(s);
    frame& f = stack_.back();
    switch (f.what) {
      case role::root:  // the first member decides: the wrapper, or one event
        if (k == "events") {
          f.what = role::wrapper;
          f.next = role::list;
          break;
        }
        f.what = role::event;
        f.root_event = true;
        start_fields();
        [[fallthrough]];
      case role::event:
        if (!event_member(f, k)) return give_up(ec);
        break;
      case role::wrapper:  // later members of the wrapper are ignored; a second "events" is not
        if (k == "events") return give_up(ec);
        f.next = role::ignored;
        break;
      case role::payload:
      case role::in_payload: {
        // A repeated name keeps only its last value in the DOM: the reference decides those.
        // Past 64 members the linear check would cost more than the DOM path saves.
        const std::uint64_t h = json_hash::key(k);
        if (keys_.size() - f.keys_from >= 64) return give_up(ec);
        for (std::size_t i = f.keys_from; i < keys_.size(); ++i)
          if (keys_[i] == h) return give_up(ec);
        keys_.push_back(h);
        f.key = h;
        if (f.count++ > 0) payload_.push_back(',');
        append_json_string(payload_, k);
        payload_.push_back(':');
        break;
      }
      default:  // a member of an ignored object
        break;
    }
    part_.clear();
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    if (value_role() != role::ignored) part_.append(s.data(), s.size());
    return true;
  }

  bool on_string(json::string_view s, std::size_t, json::error_code& ec) {
    const role r = value_role();
    if (r == role::ignored) return true;
    const std::string_view v = whole(s);
    bool ok = true;
    switch (r) {
      case role::topic:
        ok = !check_topic(v);
        topic_.assign(v);
        break;
      case role::event_id:
        ok = !check_text(v);
        event_id_.assign(v);
        break;
      case role::timestamp:
        ok = !check_timestamp(v);
        timestamp_.assign(v);
        break;
      case role::source:
        ok = !check_text(v);
        source_.assign(v);
        break;
      case role::in_payload:
        payload_prefix();
        append_json_string(payload_, v);
        add_to_payload(json_hash::string(v));
        break;
      default:
        ok = false;
    }
    part_.clear();
    return ok || give_up(ec);
  }

  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code& ec) {
    return scalar(
        ec, [&] { append_number(payload_, i); }, json_hash::int64(i));
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code& ec) {
    return scalar(
        ec, [&] { append_number(payload_, u); }, json_hash::uint64(u));
  }
  bool on_double(double d, json::string_view, json::error_code& ec) {
    return scalar(
        ec, [&] { append_json_double(payload_, d); }, json_hash::double_(d));
  }
  bool on_bool(bool v, json::error_code& ec) {
    return scalar(
        ec, [&] { payload_ += v ? "true" : "false"; }, json_hash::boolean(v));
  }
  bool on_null(json::error_code& ec) {
    return scalar(
        ec, [&] { payload_ += "null"; }, json_hash::null_value());
  }

 private:
  // What a value is to the request, decided by the containers around it.
  enum class role : std::uint8_t {
    root,     // the whole body (an object: the wrapper or one event, decided by its first key)
    wrapper,  // {"events": [...]}
    list,     // an array of events
    event,    // an event object
    topic,    // an event's members ...
    event_id,
    timestamp,
    source,
    payload,
    in_payload,  // any value inside a payload
    ignored,     // a member the contract ignores, and everything inside it
  };

  struct frame {
    role what;
    role next = role::ignored;  // objects: the role of the value after the last key
    bool root_event = false;    // the body itself is this event ("events" then means wrapper)
    std::uint8_t seen = 0;      // event: the fields read so far, one bit each
    std::uint64_t hash = 0;     // payload: an array's running hash, an object's member sum
    std::uint64_t key = 0;      // payload object: the hash of the last key
    std::size_t count = 0;      // payload: values (array) or members (object) so far
    std::size_t keys_from = 0;  // payload object: its keys' hashes in keys_ start here
  };

  role value_role() const {
    if (stack_.empty()) return role::root;
    const frame& f = stack_.back();
    switch (f.what) {
      case role::list:
        return role::event;
      case role::payload:
      case role::in_payload:
        return role::in_payload;
      case role::ignored:
        return role::ignored;
      default:  // an object: its last key said
        return f.next;
    }
  }

  bool give_up(json::error_code& ec) {
    ec = make_error_code(boost::system::errc::operation_canceled);
    return false;
  }

  // A key or string: the parts read so far, and the last one.
  std::string_view whole(json::string_view last) {
    if (part_.empty()) return {last.data(), last.size()};
    part_.append(last.data(), last.size());
    return part_;
  }

  void start_fields() {
    for (auto* s : {&topic_, &event_id_, &timestamp_, &source_}) s->clear();
    payload_.clear();
  }

  bool begin_event() {
    stack_.push_back({role::event});
    start_fields();
    return true;
  }

  // A member of an event: which field (a field twice: the reference decides).
  bool event_member(frame& f, std::string_view k) {
    static constexpr std::string_view names[] = {"topic", "event_id", "timestamp", "source",
                                                 "payload"};
    static constexpr role roles[] = {role::topic, role::event_id, role::timestamp, role::source,
                                     role::payload};
    f.next = role::ignored;
    if (f.root_event && shape_ == shape::body && k == "events") return false;
    for (int i = 0; i < 5; ++i)
      if (k == names[i]) {
        const auto bit = static_cast<std::uint8_t>(1u << i);
        if (f.seen & bit) return false;
        f.seen |= bit;
        f.next = roles[i];
      }
    return true;
  }

  bool end_event(json::error_code& ec) {
    if (stack_.back().seen != 0x1f) return give_up(ec);  // a field is missing
    stack_.pop_back();
    if (shape_ == shape::body && index_ == max_batch_) return give_up(ec);
    if (b_->building())
      add_event(*b_, {topic_, event_id_, timestamp_, source_, payload_}, payload_hash_, index_);
    ++index_;
    return true;
  }

  // Before a value inside a payload: the comma an array needs (an object's key wrote its own).
  void payload_prefix() {
    frame& parent = stack_.back();
    if (parent.what != role::payload && parent.what != role::in_payload) return;
    if (!is_object(parent) && parent.count++ > 0) payload_.push_back(',');
  }

  bool is_object(const frame& f) const { return f.keys_from != array_mark; }

  bool begin_payload_value(role r, char open, json::error_code& ec) {
    if (r == role::in_payload) payload_prefix();
    frame f{r};
    if (open == '{') {
      f.keys_from = keys_.size();
    } else {
      f.keys_from = array_mark;
      f.hash = json_hash::array_begin();
    }
    stack_.push_back(f);
    if (++payload_depth_ > max_payload_depth) return give_up(ec);
    payload_.push_back(open);
    return true;
  }

  // A payload container closed: its hash joins its parent's, or is the payload's.
  bool end_payload_value(std::uint64_t h) {
    const role r = stack_.back().what;
    stack_.pop_back();
    --payload_depth_;
    if (r == role::payload)
      payload_hash_ = h;
    else
      add_to_payload(h);
    return true;
  }

  // A finished value inside a payload joins its container's hash.
  void add_to_payload(std::uint64_t h) {
    frame& parent = stack_.back();
    if (is_object(parent))
      parent.hash += json_hash::member(parent.key, h);
    else
      parent.hash = json_hash::array_add(parent.hash, h);
  }

  template <class Write>
  bool scalar(json::error_code& ec, Write write, std::uint64_t h) {
    const role r = value_role();
    if (r == role::ignored) return true;
    if (r != role::in_payload) return give_up(ec);
    payload_prefix();
    write();
    add_to_payload(h);
    return true;
  }

  static constexpr std::size_t array_mark = std::size_t(-1);

  batch* b_ = nullptr;  // set by start()
  shape shape_;
  std::size_t max_batch_;
  std::size_t index_ = 0;
  bool done_ = false;
  std::vector<frame> stack_;
  std::vector<std::uint64_t> keys_;  // the key hashes of the open payload objects
  std::size_t payload_depth_ = 0;
  std::string part_;  // a key or string delivered in parts
  // The event being read: its fields, copied (the parser's views do not outlive the call).
  std::string topic_, event_id_, timestamp_, source_, payload_;
  std::uint64_t payload_hash_ = 0;
};

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

// The reference: the body as one DOM document.
parse_result parse_json_dom(std::string_view body, bool lenient, std::size_t max_batch) {
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

using one_pass_parser = json::basic_parser<one_pass>;

parse_result parse_json(std::string_view body, bool lenient, std::size_t max_batch) {
  batch b;
  b.lenient = lenient;
  b.r.text.reserve(body.size());
  one_pass_parser p(parse_limits(), one_pass::shape::body, max_batch);
  p.handler().start(b, 0);
  boost::system::error_code ec;
  const std::size_t used = p.write_some(false, body.data(), body.size(), ec);
  if (ec || used != body.size() || !p.handler().done() || p.handler().next_index() == 0)
    return parse_json_dom(body, lenient, max_batch);
  b.r.one_pass = true;
  return finish(b, p.handler().next_index());
}

// one_pass: try each line on the one-pass path first (false: the DOM path alone, the reference).
parse_result parse_ndjson(std::string_view body, bool lenient, std::size_t max_batch,
                          bool one_pass_first) {
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
  // The one-pass path first; what it gives up on, the DOM path reads again.
  one_pass_parser fast(parse_limits(), one_pass::shape::line, max_batch);
  auto one_pass_took = [&](std::string_view text) {
    const batch::mark before = b.here();
    fast.reset();
    fast.handler().start(b, index);
    boost::system::error_code ec;
    const std::size_t read = fast.write_some(false, text.data(), text.size(), ec);
    if (!ec && read == text.size() && fast.handler().done()) return true;
    b.back_to(before);
    return false;
  };
  std::size_t one_pass_lines = 0;
  for (auto line = lines.next(); line; line = lines.next(), ++index) {
    if (index == max_batch) return too_many("more than " + std::to_string(max_batch), max_batch);
    if (one_pass_first && one_pass_took(line->text)) {
      ++one_pass_lines;
      continue;
    }
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
  b.r.one_pass = index > 0 && one_pass_lines == index;
  return finish(b, index);
}

}  // namespace

parse_result parse_publish(std::string_view body, const body_format& format,
                           std::size_t max_batch) {
  return format.media == media_type::ndjson ? parse_ndjson(body, format.lenient, max_batch, true)
                                            : parse_json(body, format.lenient, max_batch);
}

parse_result parse_publish_reference(std::string_view body, const body_format& format,
                                     std::size_t max_batch) {
  return format.media == media_type::ndjson ? parse_ndjson(body, format.lenient, max_batch, false)
                                            : parse_json_dom(body, format.lenient, max_batch);
}

parse_result parse_publish(std::string_view body, std::size_t max_batch) {
  return parse_json(body, false, max_batch);
}

}  // namespace agg::api
