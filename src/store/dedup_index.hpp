#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace agg::store {

// Exact-candidate index of stored identities: key_hash -> seq of every stored event, in an
// open-addressing table (linear probing, 16 bytes a slot, at most 70% full). It only proposes
// candidates: the consumer confirms each against the stored row before it calls an event a
// duplicate, so a hash collision can never drop an event. 5M events take 128 MiB.
// Owned by the consumer's write strand; not thread-safe.
//
// It grows without a pause: a full table gets one twice its size, and each insert then moves
// `move_step` slots of the old one across until none is left. Growing in one go held the
// writer, and so every request waiting for a commit, for 59 ms at 367k keys and 99 ms at 734k
// (a new 16 or 32 MiB table to fault in, every key stored again at random): the slowest moment
// of a sustained single-event run. wrk counts such a pause against every request it held back,
// so this one pause made its p99 at 16 connections 10-14 ms instead of 1.5-1.8 ms.
class dedup_index {
 public:
  explicit dedup_index(std::size_t expected = 0);

  void insert(std::uint64_t hash, std::int64_t seq);

  // Calls f(seq) once for each stored seq with this hash, until f returns true. Returns
  // whether some f returned true.
  template <class F>
  bool find(std::uint64_t hash, F&& f) const {
    for (std::size_t i = hash & table_.mask;; i = (i + 1) & table_.mask) {
      const slot& s = table_.slots[i];
      if (s.seq == 0) break;
      if (s.hash == hash && f(s.seq)) return true;
    }
    if (!growing()) return false;
    // Slots below moved_ are in table_ already; the old table is never written, so its probe
    // runs stay whole.
    for (std::size_t i = hash & old_.mask;; i = (i + 1) & old_.mask) {
      const slot& s = old_.slots[i];
      if (s.seq == 0) return false;
      if (i >= moved_ && s.hash == hash && f(s.seq)) return true;
    }
  }

  // Starts loading the slot where find(hash) and insert(hash) begin. The table is larger than
  // the CPU caches and hashes are random, so each lookup is otherwise a cache miss; the writer
  // calls this a few events ahead (perf under batches: write_group's own share of the writer's
  // samples 6.3% -> 4.7%).
  void prefetch(std::uint64_t hash) const noexcept {
    __builtin_prefetch(&table_.slots[hash & table_.mask]);
    if (growing()) __builtin_prefetch(&old_.slots[hash & old_.mask]);
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return table_.mask + 1; }
  bool growing() const noexcept { return old_.slots != nullptr; }
  std::size_t memory_bytes() const noexcept {
    return (capacity() + (growing() ? old_.mask + 1 : 0)) * sizeof(slot);
  }
  // For a known count (recovery at start): finishes a growth under way, then sizes in one go.
  void reserve(std::size_t n);

  // Old slots each insert moves while growing. The old table is at most 70% full, so it is gone
  // after capacity/16 inserts, when the new one is at most 41% full: growth ends long before
  // the next one is due.
  static constexpr std::size_t move_step = 8;

 private:
  struct slot {
    std::uint64_t hash = 0;
    std::int64_t seq = 0;  // 0 = empty: stored seqs start at 1
  };
  // calloc, not new[]: a large table comes from mmap, zeroed by the kernel a page at a time as
  // growth first writes it, not all at once inside the insert that starts the growth.
  struct free_slots {
    void operator()(slot* p) const noexcept { std::free(p); }
  };
  struct table {
    std::unique_ptr<slot[], free_slots> slots;
    std::size_t mask = 0;
  };
  static table make_table(std::size_t capacity);
  static void put(table& t, slot s) noexcept;
  void move_some(std::size_t n) noexcept;

  table table_;
  table old_;              // the table being emptied into table_ while growing, else empty
  std::size_t moved_ = 0;  // old_ slots [0, moved_) are in table_; 0 when not growing
  std::size_t size_ = 0;
};

}  // namespace agg::store
