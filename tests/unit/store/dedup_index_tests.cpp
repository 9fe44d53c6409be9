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

BOOST_AUTO_TEST_SUITE_END()
