#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agg::store {

// The ascending seqs one commit stored under one topic, packed for the `topic_blocks` table:
// the first seq, the last, and for every later seq its distance from the one before, minus
// one, as a LEB128 varint. A topic that has the commit to itself costs one byte an event
// (all gaps 0), and eight topics sharing it about one byte each: one small row per topic
// and commit instead of one index entry per event.
class seq_list {
 public:
  // `seq` must be greater than last().
  void add(std::int64_t seq) {
    if (count_ == 0) {
      first_ = seq;
    } else {
      auto gap = static_cast<std::uint64_t>(seq - last_ - 1);
      while (gap >= 0x80) {
        gaps_.push_back(static_cast<char>((gap & 0x7f) | 0x80));
        gap >>= 7;
      }
      gaps_.push_back(static_cast<char>(gap));
    }
    last_ = seq;
    ++count_;
  }

  std::int64_t first() const noexcept { return first_; }
  std::int64_t last() const noexcept { return last_; }
  std::uint64_t size() const noexcept { return count_; }
  std::string_view gaps() const noexcept { return gaps_; }

 private:
  std::int64_t first_ = 0, last_ = 0;
  std::uint64_t count_ = 0;
  std::string gaps_;
};

// Calls f(seq) for every seq of a stored block, ascending, until f returns false. Returns
// false when the bytes are not a well-formed list (a truncated or over-long varint): the
// caller reports the file as corrupt.
template <class F>
bool for_each_seq(std::int64_t first, std::string_view gaps, F&& f) {
  std::int64_t seq = first;
  if (!f(seq)) return true;
  std::size_t i = 0;
  while (i < gaps.size()) {
    std::uint64_t gap = 0;
    for (int shift = 0;; shift += 7) {
      if (i == gaps.size() || shift > 56) return false;
      const auto b = static_cast<unsigned char>(gaps[i++]);
      gap |= std::uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) break;
    }
    seq += static_cast<std::int64_t>(gap) + 1;
    if (!f(seq)) return true;
  }
  return true;
}

}  // namespace agg::store
