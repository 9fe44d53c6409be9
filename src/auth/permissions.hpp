#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::auth {

// What a credential may do, as bits: `publish` (POST /publish), `read` (GET /events,
// /subscribe, /stats), `admin` (GET /metrics and everything `read` may).
enum scope : std::uint8_t { scope_publish = 1, scope_read = 2, scope_admin = 4 };

// Pure: "publish read" or "publish,read" (spaces and commas both separate) -> bits. Unknown
// names are left out and, if `unknown` is given, the first of them is put there.
std::uint8_t parse_scopes(std::string_view text, std::string* unknown = nullptr);
// "publish,read,admin" order; "-" for none.
std::string scopes_text(std::uint8_t scopes);

// The topics a credential may publish or read, in the /subscribe syntax: exact topics and
// prefixes ("order.*" is the prefix "order."; "*" every topic). `all` when unrestricted.
struct topic_set {
  bool all = true;
  std::vector<std::string> exact;     // sorted, unique
  std::vector<std::string> prefixes;  // without the '*'

  // Whether `topic` may be published or read.
  bool allows(std::string_view topic) const noexcept;
  // Whether every topic starting with `prefix` is allowed: some allowed prefix is a prefix of
  // it ("order.*" is covered by "order.*", "ord*" or "*", not by "order.paid").
  bool covers_prefix(std::string_view prefix) const noexcept;
  // The patterns as given, comma-separated ("order.*,user.created"); "-" when all.
  std::string text() const;
};

// Pure: a list of patterns (each 1-255 bytes, no whitespace or control characters; "*" alone
// or a trailing '*' makes a prefix) -> the set. An empty list means every topic. nullopt with
// `error` set when a pattern is bad.
std::optional<topic_set> parse_topic_patterns(const std::vector<std::string>& patterns,
                                              std::string* error = nullptr);
// The same from "order.*,user.created" (the keys command's --topics).
std::optional<topic_set> parse_topic_list(std::string_view csv, std::string* error = nullptr);

}  // namespace agg::auth
