#include "auth/permissions.hpp"

#include <algorithm>

namespace agg::auth {

std::uint8_t parse_scopes(std::string_view text, std::string* unknown) {
  std::uint8_t bits = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto end = text.find_first_of(" ,", i);
    const auto word = text.substr(i, end == std::string_view::npos ? end : end - i);
    if (word == "publish")
      bits |= scope_publish;
    else if (word == "read")
      bits |= scope_read;
    else if (word == "admin")
      bits |= scope_admin;
    else if (!word.empty() && unknown && unknown->empty())
      *unknown = std::string(word);
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return bits;
}

std::string scopes_text(std::uint8_t scopes) {
  std::string s;
  for (const auto& [bit, name] : {std::pair{scope_publish, "publish"},
                                  std::pair{scope_read, "read"}, std::pair{scope_admin, "admin"}})
    if (scopes & bit) {
      if (!s.empty()) s.push_back(',');
      s += name;
    }
  return s.empty() ? "-" : s;
}

bool topic_set::allows(std::string_view topic) const noexcept {
  if (all) return true;
  for (const auto& p : prefixes)
    if (topic.starts_with(p)) return true;
  return std::binary_search(exact.begin(), exact.end(), topic);
}

bool topic_set::covers_prefix(std::string_view prefix) const noexcept {
  if (all) return true;
  for (const auto& p : prefixes)
    if (prefix.starts_with(p)) return true;
  return false;
}

std::string topic_set::text() const {
  if (all) return "-";
  std::vector<std::string> v;
  for (const auto& p : prefixes) v.push_back(p + "*");
  for (const auto& e : exact) v.push_back(e);
  std::sort(v.begin(), v.end());
  std::string s;
  for (const auto& p : v) {
    if (!s.empty()) s.push_back(',');
    s += p;
  }
  return s;
}

std::optional<topic_set> parse_topic_patterns(const std::vector<std::string>& patterns,
                                              std::string* error) {
  topic_set t;
  for (const auto& p : patterns) {
    const bool bad_char = std::any_of(p.begin(), p.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u <= 0x20 || u == 0x7f;
    });
    if (p.empty() || p.size() > 255 || bad_char) {
      if (error)
        *error = "a topic pattern must be 1-255 bytes without whitespace or control characters";
      return std::nullopt;
    }
    if (p == "*") return topic_set{};  // every topic
    if (p.back() == '*')
      t.prefixes.push_back(p.substr(0, p.size() - 1));
    else
      t.exact.push_back(p);
  }
  if (t.exact.empty() && t.prefixes.empty()) return topic_set{};
  t.all = false;
  std::sort(t.exact.begin(), t.exact.end());
  t.exact.erase(std::unique(t.exact.begin(), t.exact.end()), t.exact.end());
  // An exact topic inside an allowed prefix adds nothing.
  std::erase_if(t.exact, [&](const std::string& e) {
    return std::any_of(t.prefixes.begin(), t.prefixes.end(),
                       [&](const std::string& p) { return e.starts_with(p); });
  });
  return t;
}

std::optional<topic_set> parse_topic_list(std::string_view csv, std::string* error) {
  std::vector<std::string> v;
  std::size_t i = 0;
  while (i <= csv.size() && !csv.empty()) {
    const auto end = csv.find(',', i);
    v.emplace_back(csv.substr(i, end == std::string_view::npos ? end : end - i));
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return parse_topic_patterns(v, error);
}

}  // namespace agg::auth
