#include "store/dedup_index.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

using agg::store::dedup_index;

BOOST_AUTO_TEST_SUITE(dedup_index_tests)

BOOST_AUTO_TEST_CASE(finds_every_seq_with_a_hash) {
  dedup_index idx;
  idx.insert(42, 1);
  idx.insert(42, 7);  // a hash collision: both candidates must be offered
  idx.insert(43, 2);
  std::vector<std::int64_t> seen;
  BOOST_TEST(!idx.find(42, [&](std::int64_t s) {
    seen.push_back(s);
    return false;
  }));
  BOOST_TEST((seen == std::vector<std::int64_t>{1, 7}));
  BOOST_TEST(idx.find(42, [](std::int64_t s) { return s == 7; }));
  BOOST_TEST(!idx.find(44, [](std::int64_t) { return true; }));
  BOOST_TEST(idx.size() == 3u);
}

BOOST_AUTO_TEST_CASE(grows_and_keeps_entries) {
  dedup_index idx;
  const std::size_t initial = idx.capacity();
  for (std::int64_t i = 1; i <= 100000; ++i)
    idx.insert(static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL, i);
  BOOST_TEST(idx.capacity() > initial);
  BOOST_TEST(idx.size() * 10 <= idx.capacity() * 7);
  for (std::int64_t i = 1; i <= 100000; i += 997)
    BOOST_TEST(idx.find(static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL,
                        [&](std::int64_t s) { return s == i; }));
  dedup_index sized(5000000);
  BOOST_TEST(sized.capacity() == (1u << 23));  // 5M at <= 70% load: 8M slots, 128 MiB
}

namespace {

std::uint64_t spread(std::int64_t i) {
  return static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL;
}

// The seqs find() offers for a hash, in the order offered.
std::vector<std::int64_t> offered(const dedup_index& idx, std::uint64_t hash) {
  std::vector<std::int64_t> seen;
  idx.find(hash, [&](std::int64_t s) {
    seen.push_back(s);
    return false;
  });
  return seen;
}

}  // namespace

BOOST_AUTO_TEST_CASE(grows_a_few_slots_per_insert_and_offers_each_seq_once_meanwhile) {
  dedup_index idx;      // 1024 slots: growth starts at the 717th key (over 70%)
  idx.insert(1023, 1);  // the old table's last slot: moved last
  for (std::int64_t i = 2; i <= 716; ++i) idx.insert(spread(i), i);
  BOOST_TEST(idx.capacity() == 1024u);
  BOOST_TEST(!idx.growing());
  BOOST_TEST(idx.memory_bytes() == 1024u * 16);

  idx.insert(spread(717), 717);
  BOOST_TEST(idx.growing());  // one insert did not move the whole table
  BOOST_TEST(idx.capacity() == 2048u);
  BOOST_TEST(idx.memory_bytes() == (2048u + 1024u) * 16);
  idx.insert(1023, 718);  // the same hash again, now in the new table
  for (std::int64_t i = 719; i <= 780; ++i) idx.insert(spread(i), i);
  BOOST_TEST(idx.growing());
  BOOST_TEST((offered(idx, 1023) == std::vector<std::int64_t>{718, 1}));
  for (std::int64_t i = 2; i <= 780; ++i) {
    if (i == 718) continue;
    BOOST_TEST((offered(idx, spread(i)) == std::vector<std::int64_t>{i}), "key " << i);
  }
  BOOST_TEST(!idx.find(spread(781), [](std::int64_t) { return true; }));

  // 1024 old slots at 8 an insert: the 128th insert since growth began (the 844th) ends it.
  for (std::int64_t i = 781; i <= 843; ++i) idx.insert(spread(i), i);
  BOOST_TEST(idx.growing());
  idx.insert(spread(844), 844);
  BOOST_TEST(!idx.growing());
  BOOST_TEST(idx.memory_bytes() == 2048u * 16);
  BOOST_TEST(idx.size() == 844u);
  // Seq 1 was moved last, behind 718 on the same probe run.
  BOOST_TEST((offered(idx, 1023) == std::vector<std::int64_t>{718, 1}));
  for (std::int64_t i = 2; i <= 844; ++i) {
    if (i == 718) continue;
    BOOST_TEST((offered(idx, spread(i)) == std::vector<std::int64_t>{i}), "key " << i);
  }
}

BOOST_AUTO_TEST_CASE(reserve_while_growing_keeps_every_entry) {
  dedup_index idx;
  for (std::int64_t i = 1; i <= 720; ++i) idx.insert(spread(i), i);
  BOOST_TEST(idx.growing());
  idx.reserve(100000);
  BOOST_TEST(!idx.growing());
  BOOST_TEST(idx.capacity() == (1u << 18));  // 100k at <= 70%: 256k slots
  BOOST_TEST(idx.memory_bytes() == (1u << 18) * 16);
  BOOST_TEST(idx.size() == 720u);
  for (std::int64_t i = 1; i <= 720; ++i)
    BOOST_TEST((offered(idx, spread(i)) == std::vector<std::int64_t>{i}), "key " << i);
}

BOOST_AUTO_TEST_SUITE_END()
