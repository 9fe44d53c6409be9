#include "core/bounded_queue.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

BOOST_AUTO_TEST_SUITE(bounded_queue)

BOOST_AUTO_TEST_CASE(fifo_and_full_at_capacity) {
  agg::bounded_queue<int> q(3);  // rounded up to 4
  BOOST_TEST(q.capacity() == 4u);
  for (int i = 0; i < 4; ++i) {
    int v = i;
    BOOST_TEST(q.try_push(v));
  }
  int extra = 99;
  BOOST_TEST(!q.try_push(extra));
  BOOST_TEST(extra == 99);  // a refused push leaves the value with the caller
  for (int i = 0; i < 4; ++i) BOOST_TEST(*q.try_pop() == i);
  BOOST_TEST(!q.try_pop().has_value());
}

BOOST_AUTO_TEST_CASE(moves_owning_values) {
  agg::bounded_queue<std::unique_ptr<int>> q(2);
  auto p = std::make_unique<int>(7);
  BOOST_TEST(q.try_push(p));
  BOOST_TEST(!p);
  auto out = q.try_pop();
  BOOST_TEST(**out == 7);
}

BOOST_AUTO_TEST_CASE(many_producers_many_consumers_lose_nothing) {
  agg::bounded_queue<std::uint64_t> q(64);
  constexpr int producers = 4, per_producer = 20000;
  std::atomic<std::uint64_t> sum{0}, count{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 1; i <= per_producer; ++i) {
        std::uint64_t v = static_cast<std::uint64_t>(p * per_producer + i);
        while (!q.try_push(v)) std::this_thread::yield();
      }
    });
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c)
    consumers.emplace_back([&] {
      for (;;) {
        if (auto v = q.try_pop()) {
          sum += *v;
          ++count;
        } else if (done) {
          if (!(v = q.try_pop())) return;
          sum += *v;
          ++count;
        } else {
          std::this_thread::yield();
        }
      }
    });
  for (auto& t : threads) t.join();
  done = true;
  for (auto& t : consumers) t.join();
  const std::uint64_t n = producers * per_producer;
  BOOST_TEST(count.load() == n);
  BOOST_TEST(sum.load() == n * (n + 1) / 2);
}

BOOST_AUTO_TEST_SUITE_END()
