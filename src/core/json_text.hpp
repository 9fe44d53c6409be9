#pragma once

#include <boost/json/value.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace agg {

// Appends `s` as a JSON string literal (quotes included). Only what JSON requires is escaped:
// '"', '\\' and control characters; UTF-8 passes through unchanged.
void append_json_string(std::string& out, std::string_view s);

// Appends an integer in decimal (JSON numbers, Content-Length, chunk sizes use it).
template <class Int>
void append_number(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Appends `v` as compact JSON. Unlike boost::json::serialize, a double is written in its
// shortest round-trip decimal form (42.5 stays "42.5", not "4.25E1").
void append_json_value(std::string& out, const boost::json::value& v);
// The double case of append_json_value, for a parser that writes as it reads.
void append_json_double(std::string& out, double d);

// 64-bit hash of bytes (FNV-1a with a final avalanche). Stored in the database, so it must
// never change between versions.
std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed = 0) noexcept;

// Hash of a JSON value that ignores object key order: equal JSON values hash equally.
// Numbers hash by value: 1, 1.0 and 1e0 are the same number.
std::uint64_t hash_json_value(const boost::json::value& v) noexcept;

// hash_json_value in pieces, for a parser that hashes as it reads (api's one-pass publish
// parser): the same JSON value gets the same hash either way.
namespace json_hash {
std::uint64_t null_value() noexcept;
std::uint64_t boolean(bool b) noexcept;
std::uint64_t int64(std::int64_t i) noexcept;
std::uint64_t uint64(std::uint64_t u) noexcept;
std::uint64_t double_(double d) noexcept;
std::uint64_t string(std::string_view s) noexcept;
// An array: h = array_begin(), then h = array_add(h, element) for each element in order.
std::uint64_t array_begin() noexcept;
std::uint64_t array_add(std::uint64_t h, std::uint64_t element) noexcept;
// An object: the sum of member(key(name), value) over its members (any order), then object().
std::uint64_t key(std::string_view name) noexcept;
std::uint64_t member(std::uint64_t key, std::uint64_t value) noexcept;
std::uint64_t object(std::uint64_t member_sum) noexcept;
}  // namespace json_hash

// Hash of the identity (topic, event_id): the topic's hash seeds the event_id's, so
// ("ab", "c") and ("a", "bc") differ.
std::uint64_t key_hash(std::string_view topic, std::string_view event_id) noexcept;

}  // namespace agg
