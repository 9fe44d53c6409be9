#include "harness.hpp"

#include <stdexcept>

namespace agg::test {

std::string url_encode(std::string_view s) {
  static char const hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool const unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

json::object get_stats(http_client& client) {
  auto res = client.get("/stats");
  if (res.status != 200)
    throw std::runtime_error("GET /stats: " + std::to_string(res.status) + " " + res.body);
  return as_object(res.json());
}

std::vector<json::object> fetch_all_events(http_client& client, std::string_view topic,
                                           std::size_t page_limit) {
  std::vector<json::object> all;
  std::int64_t after = 0;
  for (std::size_t pages = 0;; ++pages) {
    if (pages > 1'000'000) throw std::runtime_error("fetch_all_events: too many pages");
    std::string target =
        "/events?after=" + std::to_string(after) + "&limit=" + std::to_string(page_limit);
    if (!topic.empty()) target += "&topic=" + url_encode(topic);
    auto res = client.get(target);
    if (res.status != 200)
      throw std::runtime_error("GET " + target + ": " + std::to_string(res.status) + " " +
                               res.body);
    auto const doc = res.json();
    auto const& page = as_object(doc);
    auto const& events = as_array(at(page, "events"));
    if (events.empty()) {
      if (!at(page, "next_after").is_null())
        throw std::runtime_error("GET " + target + ": empty page with next_after " + res.body);
      return all;
    }
    for (auto const& e : events) all.push_back(as_object(e));
    std::int64_t const next = as_int(at(page, "next_after"));
    std::int64_t const last = as_int(at(as_object(events.back()), "seq"));
    if (next != last)
      throw std::runtime_error("GET " + target + ": next_after " + std::to_string(next) +
                               " is not the last seq " + std::to_string(last));
    if (next <= after) throw std::runtime_error("GET " + target + ": next_after does not advance");
    after = next;
  }
}

event_key key_of(json::object const& event) {
  return {as_string(at(event, "topic")), as_string(at(event, "event_id"))};
}

std::int64_t sum_topic_counts(json::object const& stats) {
  std::int64_t sum = 0;
  for (auto const& kv : as_object(at(stats, "topic_counts"))) sum += as_int(kv.value());
  return sum;
}

}  // namespace agg::test
