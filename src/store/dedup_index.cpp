#include "store/dedup_index.hpp"

#include <algorithm>
#include <bit>
#include <new>

namespace agg::store {
namespace {

constexpr std::size_t min_capacity = 1024;

// Smallest power of two that holds n entries at most 70% full.
std::size_t capacity_for(std::size_t n) {
  return std::bit_ceil(std::max(min_capacity, n + n * 3 / 7 + 1));
}

}  // namespace

dedup_index::dedup_index(std::size_t expected) : table_(make_table(capacity_for(expected))) {}

dedup_index::table dedup_index::make_table(std::size_t capacity) {
  table t;
  t.slots.reset(static_cast<slot*>(std::calloc(capacity, sizeof(slot))));
  if (!t.slots) throw std::bad_alloc();
  t.mask = capacity - 1;
  return t;
}

void dedup_index::put(table& t, slot s) noexcept {
  std::size_t i = s.hash & t.mask;
  while (t.slots[i].seq != 0) i = (i + 1) & t.mask;
  t.slots[i] = s;
}

void dedup_index::reserve(std::size_t n) {
  if (capacity_for(n) <= capacity()) return;
  if (growing()) move_some(old_.mask + 1);
  table grown = make_table(capacity_for(n));
  for (std::size_t j = 0; j <= table_.mask; ++j)
    if (table_.slots[j].seq != 0) put(grown, table_.slots[j]);
  table_ = std::move(grown);
}

void dedup_index::insert(std::uint64_t hash, std::int64_t seq) {
  if (!growing() && (size_ + 1) * 10 > capacity() * 7) {
    old_ = std::move(table_);
    table_ = make_table((old_.mask + 1) * 2);
  }
  move_some(move_step);
  put(table_, {hash, seq});
  ++size_;
}

void dedup_index::move_some(std::size_t n) noexcept {
  if (!growing()) return;
  const std::size_t end = std::min(old_.mask + 1, moved_ + n);
  for (; moved_ < end; ++moved_)
    if (old_.slots[moved_].seq != 0) put(table_, old_.slots[moved_]);
  if (moved_ > old_.mask) {
    old_ = {};
    moved_ = 0;
  }
}

}  // namespace agg::store
