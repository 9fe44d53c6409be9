#include "auth/credentials.hpp"

#include <array>
#include <cstdint>

namespace agg::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "="s.
bool b64token(std::string_view t) {
  if (t.empty() || t.size() > 8192) return false;
  std::size_t i = 0;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
  }
  if (i == 0) return false;
  for (; i < t.size(); ++i)
    if (t[i] != '=') return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<std::string> decode(std::string_view in, bool url) {
  static const std::array<std::int8_t, 256> table = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    const char* std_alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 62; ++i)
      t[static_cast<unsigned char>(std_alpha[i])] = static_cast<std::int8_t>(i);
    return t;
  }();
  if (!url) {
    if (in.size() % 4 != 0) return std::nullopt;
    std::size_t pad = 0;
    while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
    in.remove_suffix(pad);
  }
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : in) {
    int v = table[static_cast<unsigned char>(ch)];
    if (v < 0) {
      if (ch == (url ? '-' : '+'))
        v = 62;
      else if (ch == (url ? '_' : '/'))
        v = 63;
      else
        return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero (one canonical encoding per byte string).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view in) {
  return decode(in, true);
}

std::optional<std::string> base64_decode(std::string_view in) {
  return decode(in, false);
}

std::string base64url_encode(std::string_view in) {
  static constexpr char alpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : in) {
    acc = (acc << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alpha[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alpha[(acc << (6 - bits)) & 63]);
  return out;
}

presented parse_authorization(std::string_view value) {
  presented p;
  p.kind = presented::malformed;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  const auto sp = value.find(' ');
  if (sp == std::string_view::npos) return p;
  const auto scheme = value.substr(0, sp);
  auto rest = value.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (!b64token(rest)) return p;
  if (iequals(scheme, "Bearer")) {
    p.kind = presented::bearer;
    p.token = std::string(rest);
  } else if (iequals(scheme, "Basic")) {
    auto decoded = base64_decode(rest);
    if (!decoded) return p;
    const auto colon = decoded->find(':');
    // The key is the user name; the password must be empty (what analytics SDKs send).
    if (colon == std::string::npos || colon + 1 != decoded->size() || colon == 0) return p;
    decoded->resize(colon);
    if (!b64token(*decoded)) return p;
    p.kind = presented::bearer;
    p.token = std::move(*decoded);
  }
  return p;
}

std::optional<std::string> access_token_param(std::string_view query) {
  std::size_t i = 0;
  while (i <= query.size()) {
    const auto end = query.find('&', i);
    const auto part = query.substr(i, end == std::string_view::npos ? end : end - i);
    const auto eq = part.find('=');
    if (part.substr(0, eq) == "access_token")
      return percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1))
          .value_or(std::string("\x01"));  // undecodable: a token no key or JWT can match
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return std::nullopt;
}

std::string scrub_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  auto query = target.substr(q + 1);
  std::size_t i = 0;
  bool first = true;
  while (i <= query.size()) {
    const auto end = query.find('&', i);
    const auto part = query.substr(i, end == std::string_view::npos ? end : end - i);
    if (!first) out.push_back('&');
    first = false;
    if (part.substr(0, part.find('=')) == "access_token")
      out += "access_token=***";
    else
      out += part;
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return out;
}

}  // namespace agg::auth
