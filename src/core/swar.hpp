#pragma once

// Eight bytes at a time (SWAR) for the byte scans on the publish path (JSON escaping in
// json_text, the field rules in api/validation): each test is exact as a yes/no for the whole
// word, which is all a scan needs to skip a plain word or look at it byte by byte.

#include <cstdint>
#include <cstring>

namespace agg::swar {

inline constexpr std::uint64_t ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t highs = 0x8080808080808080ULL;

// The eight bytes at p (any alignment).
inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

// Whether any byte of x is zero.
constexpr bool has_zero(std::uint64_t x) noexcept {
  return ((x - ones) & ~x & highs) != 0;
}

// Whether any byte of x equals c.
constexpr bool has_byte(std::uint64_t x, unsigned char c) noexcept {
  return has_zero(x ^ (ones * c));
}

// Whether any byte of x is below n (n <= 128).
constexpr bool has_less(std::uint64_t x, std::uint64_t n) noexcept {
  return ((x - ones * n) & ~x & highs) != 0;
}

// Whether any byte of x is 0x80 or above (not ASCII).
constexpr bool has_high(std::uint64_t x) noexcept {
  return (x & highs) != 0;
}

}  // namespace agg::swar
