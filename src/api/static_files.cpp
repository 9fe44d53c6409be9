#include "api/static_files.hpp"

namespace agg::api {

const static_file* find_static_file(std::string_view path) {
  if (path == "/" || path == "/ui" || path == "/ui/") path = "/ui/index.html";
  for (const auto& f : static_files())
    if (f.path == path) return &f;
  return nullptr;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    auto tag = trim(if_none_match.substr(0, comma));
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    if (tag == "*") return true;
    // If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x".
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

reply static_file_reply(const static_file& file, std::optional<std::string_view> if_none_match) {
  reply r;
  r.content_type = std::string(file.content_type);
  r.headers.emplace_back("ETag", std::string(file.etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (file.content_type.starts_with("text/html"))
    // The page loads only its own files and talks only to this service: no inline script,
    // nothing from elsewhere (it must work without internet, and a topic or payload shown
    // in the tail can never run as code).
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'none'");
  if (if_none_match && etag_matches(*if_none_match, file.etag)) {
    r.status = boost::beast::http::status::not_modified;
    return r;
  }
  r.body = std::string(file.body);
  return r;
}

}  // namespace agg::api
