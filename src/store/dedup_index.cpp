#include "store/dedup_index.hpp"

#include <algorithm>
#include <bit>

namespace agg::store {
namespace {

constexpr std::size_t min_capacity = 1024;

// Smallest power of two that holds n entries at most 70% full.
std::size_t capacity_for(std::size_t n) {
  return std::bit_ceil(std::max(min_capacity, n + n * 3 / 7 + 1));
}

}  // namespace

dedup_index::dedup_index(std::size_t expected) {
  rehash(capacity_for(expected));
}

void dedup_index::reserve(std::size_t n) {
  if (capacity_for(n) > capacity()) rehash(capacity_for(n));
}

void dedup_index::insert(std::uint64_t hash, std::int64_t seq) {
  if ((size_ + 1) * 10 > capacity() * 7) rehash(capacity() * 2);
  std::size_t i = hash & mask_;
  while (slots_[i].seq != 0) i = (i + 1) & mask_;
  slots_[i] = {hash, seq};
  ++size_;
}

void dedup_index::rehash(std::size_t new_capacity) {
  std::unique_ptr<slot[]> old = std::move(slots_);
  const std::size_t old_capacity = old ? mask_ + 1 : 0;
  slots_ = std::make_unique<slot[]>(new_capacity);
  mask_ = new_capacity - 1;
  for (std::size_t j = 0; j < old_capacity; ++j) {
    if (old[j].seq == 0) continue;
    std::size_t i = old[j].hash & mask_;
    while (slots_[i].seq != 0) i = (i + 1) & mask_;
    slots_[i] = old[j];
  }
}

}  // namespace agg::store
