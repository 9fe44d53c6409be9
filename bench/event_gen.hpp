#pragma once
// Deterministic synthetic events shared by agg-load and bench-sqlite-append.
//
// Event number `i` of a run with seed `s` always renders to the same bytes, so a
// duplicate is produced by rendering an earlier `i` again: no table of sent events is
// kept, and any connection on any thread can build any request without locking.

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agg_bench {

// SplitMix64: a fast, well-mixed 64-bit hash; good enough for keys and choices here.
inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Topic names: the first 8 read like a real system, more are `topic.N`.
inline std::string topic_name(std::size_t index) {
  static constexpr std::array<std::string_view, 8> names = {
      "order.paid",     "order.created", "user.created", "user.login",
      "payment.failed", "cart.updated",  "invoice.sent", "shipment.delivered"};
  if (index < names.size()) return std::string(names[index]);
  return "topic." + std::to_string(index);
}

// Shape of the events of one run. Every field is fixed for the run.
struct event_shape {
  std::uint64_t seed = 1;           // key space of the run: another seed, other keys
  std::size_t topics = 8;           // events spread over this many topics
  std::size_t payload_bytes = 200;  // target size of the serialised `payload` object
};

class event_generator {
 public:
  explicit event_generator(event_shape shape) : shape_(shape) {
    for (std::size_t t = 0; t < shape_.topics; ++t) topics_.push_back(topic_name(t));
  }

  const event_shape& shape() const noexcept { return shape_; }

  // Fields of event `i`, each written into `out` (appended). They are what the
  // JSON rendering below carries, so the SQLite benchmark stores the same bytes.
  const std::string& topic(std::uint64_t i) const {
    return topics_[static_cast<std::size_t>(hash(i, 3) % topics_.size())];
  }

  // A random version-4 UUID-like string (36 chars) derived from (seed, i).
  void append_event_id(std::string& out, std::uint64_t i) const {
    static constexpr char hex[] = "0123456789abcdef";
    const std::uint64_t a = hash(i, 1);
    const std::uint64_t b = hash(i, 2);
    char buf[36];
    std::size_t pos = 0;
    for (int n = 0; n < 32; ++n) {
      if (n == 8 || n == 12 || n == 16 || n == 20) buf[pos++] = '-';
      const std::uint64_t word = n < 16 ? a : b;
      unsigned nibble = static_cast<unsigned>((word >> ((n % 16) * 4)) & 0xfU);
      if (n == 12) nibble = 4;                  // version 4
      if (n == 16) nibble = 8 | (nibble & 3U);  // RFC 4122 variant
      buf[pos++] = hex[nibble];
    }
    out.append(buf, sizeof buf);
  }

  // RFC 3339 UTC time on 2026-11-24, one millisecond per event number.
  void append_timestamp(std::string& out, std::uint64_t i) const {
    const std::uint64_t ms_of_day = i % 86'400'000ULL;
    char buf[24] = {'2', '0', '2', '6', '-', '1', '1', '-', '2', '4', 'T', 0,
                    0,   ':', 0,   0,   ':', 0,   0,   '.', 0,   0,   0,   'Z'};
    put_digits(buf + 11, 2, ms_of_day / 3'600'000ULL);
    put_digits(buf + 14, 2, (ms_of_day / 60'000ULL) % 60);
    put_digits(buf + 17, 2, (ms_of_day / 1000ULL) % 60);
    put_digits(buf + 20, 3, ms_of_day % 1000ULL);
    out.append(buf, sizeof buf);
  }

  static constexpr std::string_view source() noexcept { return "agg-load"; }

  // `{"seq":i,"amount":N.NN,"note":"xxx…"}` padded to about payload_bytes.
  void append_payload(std::string& out, std::uint64_t i) const {
    const std::size_t start = out.size();
    out += "{\"seq\":";
    append_uint(out, i);
    out += ",\"amount\":";
    const std::uint64_t cents = hash(i, 4) % 1'000'000ULL;
    append_uint(out, cents / 100);
    out += '.';
    const std::uint64_t frac = cents % 100;
    out += static_cast<char>('0' + frac / 10);
    out += static_cast<char>('1' + frac % 9);  // never a trailing 0: 42.5 vs 42.50
    out += ",\"note\":\"";
    const std::size_t used = out.size() - start + 2;  // + closing `"}`
    if (shape_.payload_bytes > used) out.append(shape_.payload_bytes - used, 'x');
    out += "\"}";
  }

  // The whole event as one JSON object, appended to `out`.
  void append_event_json(std::string& out, std::uint64_t i) const {
    out += "{\"topic\":\"";
    out += topic(i);
    out += "\",\"event_id\":\"";
    append_event_id(out, i);
    out += "\",\"timestamp\":\"";
    append_timestamp(out, i);
    out += "\",\"source\":\"";
    out += source();
    out += "\",\"payload\":";
    append_payload(out, i);
    out += '}';
  }

  static void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
  }

 private:
  std::uint64_t hash(std::uint64_t i, std::uint64_t salt) const noexcept {
    return mix64(mix64(shape_.seed ^ (salt * 0x632be59bd9b4e019ULL)) ^ i);
  }

  static void put_digits(char* at, int width, std::uint64_t v) noexcept {
    for (int k = width - 1; k >= 0; --k) {
      at[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  }

  event_shape shape_;
  std::vector<std::string> topics_;
};

// Which event each sent position carries: `dups_num / dups_den` of the positions are
// duplicates, spread evenly (Bresenham): position p is a duplicate iff
// floor((p+1)·r) > floor(p·r). So among the first P positions exactly floor(P·r) are
// duplicates, the first position is never one, and a duplicate re-sends a unique event
// chosen at random among those of earlier positions (same key, same content).
class dup_plan {
 public:
  dup_plan(std::uint64_t dups_num, std::uint64_t dups_den, std::uint64_t seed)
      : num_(dups_num), den_(dups_den), seed_(seed) {}

  std::uint64_t dups_before(std::uint64_t p) const noexcept { return p * num_ / den_; }
  std::uint64_t uniques_before(std::uint64_t p) const noexcept { return p - dups_before(p); }
  bool is_dup(std::uint64_t p) const noexcept { return dups_before(p + 1) > dups_before(p); }

  // Event number (unique index) sent at position p.
  std::uint64_t event_at(std::uint64_t p) const noexcept {
    const std::uint64_t u = uniques_before(p);
    if (!is_dup(p)) return u;
    // u >= 1 here: position 0 is never a duplicate while num_ < den_.
    return mix64(seed_ ^ 0x5bd1e995ULL ^ mix64(p)) % u;
  }

 private:
  std::uint64_t num_;
  std::uint64_t den_;
  std::uint64_t seed_;
};

}  // namespace agg_bench
