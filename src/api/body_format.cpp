#include "api/body_format.hpp"

#include <boost/beast/core/string.hpp>

namespace agg::api {
namespace {

namespace http = boost::beast::http;
using boost::beast::iequals;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::string_view> field(const http::fields& h, http::field f) {
  const auto it = h.find(f);
  if (it == h.end()) return std::nullopt;
  return it->value();
}

void refuse(body_format& f, std::string message) {
  f.refusal = errc::unsupported_media_type;
  f.message = std::move(message);
}

}  // namespace

body_format decide_body_format(std::optional<std::string_view> content_type,
                               std::optional<std::string_view> content_encoding,
                               std::optional<std::string_view> prefer) {
  body_format f;
  if (content_type) {
    const auto type = trim(content_type->substr(0, content_type->find(';')));
    if (iequals(type, "application/x-ndjson") || iequals(type, "application/ndjson") ||
        iequals(type, "application/jsonl"))
      f.media = media_type::ndjson;
    else if (!iequals(type, "application/json"))
      refuse(f, "Content-Type must be application/json or application/x-ndjson, not '" +
                    std::string(*content_type) + "'");
  }
  if (content_encoding && f.refusal == errc::ok) {
    // A list of codings in the order they were applied; identity entries change nothing.
    std::string_view rest = *content_encoding;
    for (;;) {
      const auto comma = rest.find(',');
      const auto name = trim(rest.substr(0, comma));
      if (!name.empty() && !iequals(name, "identity")) {
        const bool gzip = iequals(name, "gzip") || iequals(name, "x-gzip");
        if (!gzip && !iequals(name, "deflate")) {
          refuse(f, "Content-Encoding must be gzip, deflate or identity, not '" +
                        std::string(*content_encoding) + "'");
          break;
        }
        if (f.coding != content_coding::identity) {
          refuse(f, "Content-Encoding may name one coding only, not '" +
                        std::string(*content_encoding) + "'");
          break;
        }
        f.coding = gzip ? content_coding::gzip : content_coding::deflate;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (prefer) {
    // Prefer: a comma-separated list of preferences, each `token[=value][; params]`.
    std::string_view rest = *prefer;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      auto pref = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      pref = trim(pref.substr(0, pref.find(';')));
      const auto eq = pref.find('=');
      if (eq == std::string_view::npos) continue;
      auto value = trim(pref.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (iequals(trim(pref.substr(0, eq)), "handling")) f.lenient = iequals(value, "lenient");
    }
  }
  return f;
}

body_format decide_body_format(const http::fields& headers) {
  return decide_body_format(field(headers, http::field::content_type),
                            field(headers, http::field::content_encoding),
                            field(headers, http::field::prefer));
}

const char* to_string(content_coding c) noexcept {
  switch (c) {
    case content_coding::gzip:
      return "gzip";
    case content_coding::deflate:
      return "deflate";
    case content_coding::identity:
      break;
  }
  return "identity";
}

}  // namespace agg::api
