#include "json_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <limits>
#include <stdexcept>

namespace agg::test {

json::value parse_json(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = 100000;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec)
    throw std::runtime_error("not JSON (" + ec.message() + "): " +
                             std::string(text.substr(0, 500)) + (text.size() > 500 ? "..." : ""));
  return v;
}

std::string to_text(json::value const& v) {
  return json::serialize(v);
}

json::object make_event(std::string_view topic, std::string_view event_id, json::object payload,
                        std::string_view timestamp, std::string_view source) {
  json::object e;
  e["topic"] = topic;
  e["event_id"] = event_id;
  e["timestamp"] = timestamp;
  e["source"] = source;
  e["payload"] = std::move(payload);
  return e;
}

std::string single_body(json::object const& event) {
  return json::serialize(event);
}

std::string array_body(std::vector<json::object> const& events) {
  json::array a;
  for (auto const& e : events) a.push_back(e);
  return json::serialize(a);
}

std::string envelope_body(std::vector<json::object> const& events) {
  json::array a;
  for (auto const& e : events) a.push_back(e);
  json::object o;
  o["events"] = std::move(a);
  return json::serialize(o);
}

std::string nested_object_text(std::size_t levels) {
  if (levels == 0) return "0";
  std::string s;
  s.reserve(levels * 6 + 1);
  for (std::size_t i = 0; i < levels; ++i) s += "{\"d\":";
  s += "0";
  s.append(levels, '}');
  return s;
}

std::size_t depth_of(json::value const& v) {
  // Iterative: a recursive walk of a 100,000-level value could overflow the stack.
  std::size_t best = 0;
  std::vector<std::pair<json::value const*, std::size_t>> todo{{&v, 0}};
  while (!todo.empty()) {
    auto [p, d] = todo.back();
    todo.pop_back();
    if (p->is_object()) {
      best = std::max(best, d + 1);
      for (auto const& kv : p->get_object()) todo.emplace_back(&kv.value(), d + 1);
    } else if (p->is_array()) {
      best = std::max(best, d + 1);
      for (auto const& x : p->get_array()) todo.emplace_back(&x, d + 1);
    }
  }
  return best;
}

json::object const& as_object(json::value const& v) {
  if (!v.is_object())
    throw std::runtime_error("expected a JSON object, got " + json::serialize(v).substr(0, 300));
  return v.get_object();
}

json::array const& as_array(json::value const& v) {
  if (!v.is_array())
    throw std::runtime_error("expected a JSON array, got " + json::serialize(v).substr(0, 300));
  return v.get_array();
}

std::int64_t as_int(json::value const& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() &&
      v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get_uint64());
  throw std::runtime_error("expected a JSON integer, got " + json::serialize(v).substr(0, 300));
}

std::string as_string(json::value const& v) {
  if (!v.is_string())
    throw std::runtime_error("expected a JSON string, got " + json::serialize(v).substr(0, 300));
  return std::string(v.get_string());
}

json::value const& at(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end())
    throw std::runtime_error("missing key \"" + std::string(key) + "\" in " +
                             json::serialize(o).substr(0, 300));
  return it->value();
}

}  // namespace agg::test
