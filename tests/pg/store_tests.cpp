// pg_store through its interface, two instances on one database as two nodes would be: the
// commit notices that drive live subscriptions must cover other nodes' commits.
#define BOOST_TEST_DYN_LINK
#include "pg_support.hpp"
#include "store_support.hpp"

#include "store/pg_store.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace store = agg::store;
using agg::test::request_events;

namespace {

struct notices {
  std::mutex mu;
  std::vector<store::commit_notice> seen;  // guarded by mu
  std::int64_t last() {
    std::lock_guard lk(mu);
    return seen.empty() ? 0 : seen.back().last_seq;
  }
};

bool wait_for(notices& n, std::int64_t last, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (n.last() < last && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  return n.last() >= last;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pg_store_notices)

BOOST_AUTO_TEST_CASE(listeners_hear_every_nodes_commits_in_order_once) {
  const auto uri = agg::test::fresh_database();
  auto a = store::pg_store::open(uri, {});
  auto b = store::pg_store::open(uri, {});
  // Both follow other nodes' commits, as a node with live subscribers does.
  const store::commit_follower follow_a(*a), follow_b(*b);
  notices on_a, on_b;
  a->add_commit_listener([&](const store::commit_notice& n) {
    std::lock_guard lk(on_a.mu);
    on_a.seen.push_back(n);
  });
  b->add_commit_listener([&](const store::commit_notice& n) {
    std::lock_guard lk(on_b.mu);
    on_b.seen.push_back(n);
  });

  request_events r1({"a", "b", "c"});
  std::vector<store::batch_entry> g1{r1.entry()};
  BOOST_TEST_REQUIRE(!a->commit(g1), a->failure());
  BOOST_TEST(r1.results[0].seq == 1);
  BOOST_TEST(r1.results[2].seq == 3);
  // Node B hears of node A's commit through the database, well within 1 s.
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(wait_for(on_b, 3, 1s));
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE("notice on the other node after " << ms << " ms");

  request_events r2({"b", "d"});  // b: a duplicate stored through node A
  request_events r3({"e", "d"});  // d again in the same group: a duplicate of r2's copy
  std::vector<store::batch_entry> g2{r2.entry(), r3.entry()};
  BOOST_TEST_REQUIRE(!b->commit(g2), b->failure());
  BOOST_TEST((r2.results[0].status == agg::event_status::duplicate && r2.results[0].seq == 2));
  BOOST_TEST((r2.results[1].status == agg::event_status::accepted && r2.results[1].seq == 4));
  BOOST_TEST((r3.results[0].status == agg::event_status::accepted && r3.results[0].seq == 5));
  BOOST_TEST((r3.results[1].status == agg::event_status::duplicate && r3.results[1].seq == 4));
  BOOST_TEST(wait_for(on_a, 5, 1s));

  for (auto* n : {&on_a, &on_b}) {
    std::lock_guard lk(n->mu);
    std::int64_t next = 1;
    for (const auto& x : n->seen) {
      BOOST_TEST(x.first_seq == next);
      BOOST_TEST(x.last_seq >= x.first_seq);
      next = x.last_seq + 1;
    }
    BOOST_TEST(next == 6);
  }
  const auto s = a->stats();
  BOOST_TEST(s.totals.received == 7u);
  BOOST_TEST(s.totals.unique_processed == 5u);
  BOOST_TEST(s.totals.duplicate_dropped == 2u);
  a->close();
  b->close();
}

// A node listens for other nodes' commits only while something on it follows them: without a
// follower it hears of them through its once-a-second look at the counter row.
BOOST_AUTO_TEST_CASE(other_nodes_commits_are_heard_at_once_only_while_followed) {
  const auto uri = agg::test::fresh_database();
  auto a = store::pg_store::open(uri, {});
  auto b = store::pg_store::open(uri, {});
  std::mutex mu;
  std::vector<std::pair<std::int64_t, std::chrono::steady_clock::time_point>> heard;  // by b
  b->add_commit_listener([&](const store::commit_notice& n) {
    std::lock_guard lk(mu);
    heard.emplace_back(n.last_seq, std::chrono::steady_clock::now());
  });
  // 11 commits through node A, 100 ms apart; how long after each one node B heard of it.
  int next_id = 0;
  auto delays = [&] {
    std::vector<std::pair<std::int64_t, std::chrono::steady_clock::time_point>> sent;
    for (int i = 0; i < 11; ++i) {
      request_events r({"e" + std::to_string(next_id++)});
      std::vector<store::batch_entry> g{r.entry()};
      BOOST_TEST_REQUIRE(!a->commit(g), a->failure());
      sent.emplace_back(r.results[0].seq, std::chrono::steady_clock::now());
      std::this_thread::sleep_for(100ms);
    }
    std::this_thread::sleep_for(1500ms);  // the once-a-second look comes within this
    std::vector<double> ms;
    std::lock_guard lk(mu);
    // Not a structured binding: clang 14 (the sanitizer builds) cannot capture one.
    for (const auto& commit : sent) {
      const std::int64_t seq = commit.first;
      const auto it =
          std::find_if(heard.begin(), heard.end(), [&](const auto& h) { return h.first >= seq; });
      BOOST_TEST_REQUIRE((it != heard.end()), "seq " << seq << " never heard");
      ms.push_back(std::chrono::duration<double, std::milli>(it->second - commit.second).count());
    }
    return ms;
  };

  // Not followed: heard through the look every second. Commits 100 ms apart over a second
  // always include one made just after a look, which waits about a second for the next.
  const auto unfollowed = delays();
  const double slowest_unfollowed = *std::max_element(unfollowed.begin(), unfollowed.end());
  BOOST_TEST_MESSAGE("not followed: slowest " << slowest_unfollowed << " ms");
  BOOST_TEST(slowest_unfollowed >= 700.0);

  // Followed: LISTEN; each commit's notification comes within milliseconds.
  const store::commit_follower follow(*b);
  std::this_thread::sleep_for(200ms);
  const auto followed = delays();
  const double slowest_followed = *std::max_element(followed.begin(), followed.end());
  BOOST_TEST_MESSAGE("followed: slowest " << slowest_followed << " ms");
  BOOST_TEST(slowest_followed < 300.0);
  a->close();
  b->close();
}

BOOST_AUTO_TEST_SUITE_END()
