#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace agg::store {

// Exact-candidate index of stored identities: key_hash -> seq of every stored event, in an
// open-addressing table (linear probing, 16 bytes a slot, at most 70% full). It only proposes
// candidates: the consumer confirms each against the stored row before it calls an event a
// duplicate, so a hash collision can never drop an event. 5M events take 128 MiB.
// Owned by the consumer's write strand; not thread-safe.
class dedup_index {
 public:
  explicit dedup_index(std::size_t expected = 0);

  void insert(std::uint64_t hash, std::int64_t seq);

  // Calls f(seq) for each stored seq with this hash, until f returns true. Returns whether
  // some f returned true.
  template <class F>
  bool find(std::uint64_t hash, F&& f) const {
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (s.seq == 0) return false;
      if (s.hash == hash && f(s.seq)) return true;
    }
  }

  // Starts loading the slot where find(hash) and insert(hash) begin. The table is larger than
  // the CPU caches and hashes are random, so each lookup is otherwise a cache miss; the writer
  // calls this a few events ahead (perf under batches: write_group's own share of the writer's
  // samples 6.3% -> 4.7%).
  void prefetch(std::uint64_t hash) const noexcept { __builtin_prefetch(&slots_[hash & mask_]); }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return mask_ + 1; }
  std::size_t memory_bytes() const noexcept { return slots_ ? capacity() * sizeof(slot) : 0; }
  void reserve(std::size_t n);

 private:
  struct slot {
    std::uint64_t hash = 0;
    std::int64_t seq = 0;  // 0 = empty: stored seqs start at 1
  };
  void rehash(std::size_t new_capacity);

  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::unique_ptr<slot[]> slots_;
};

}  // namespace agg::store
