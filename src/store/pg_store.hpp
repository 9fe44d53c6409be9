#pragma once

#include "store/event_store.hpp"

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace agg::store {

class pg_connection;  // libpq stays out of this header: only the store library sees it

// Whether `db` names a PostgreSQL database (a postgresql:// or postgres:// URI) rather than
// a SQLite file.
bool is_postgres_uri(std::string_view db) noexcept;

// The shared store: several nodes on one PostgreSQL database are one service.
//  - Identity: UNIQUE(topic, event_id) in agg_events is the only judge. A group commit is one
//    statement, a call of the server-side function agg_commit_group (one round trip, its own
//    transaction), which first locks the one counter row (SELECT ... FOR UPDATE), so commits
//    of all nodes take turns: the lookup of a group's keys under that lock is authoritative,
//    and no two batches can deadlock on keys.
//  - seq: the counter row holds the last seq; a commit numbers its new events last + 1,
//    last + 2, ... in group order and stores the new last with them. The next commit can lock
//    the row only after this one is visible, so seqs become visible in ascending order and
//    gap-free (a sequence object would hand out numbers at insert time: a reader could page
//    past a number whose transaction commits later).
//  - Counters and topic counts change in the same transaction as the events they count.
//  - Other nodes' commits reach the commit listeners through LISTEN/NOTIFY (the notification
//    carries the new last seq; the counter row is the truth, re-read every second). A node
//    listens only while something on it follows commits (follow_commits): every commit
//    signals each listening session, which then wakes its node (3 nodes, single events:
//    PostgreSQL made 2 kill() calls per commit instead of 8 when none listened, and 4% more
//    events/s went through).
//  - While the server is unreachable writable() and readable() are false; a monitor thread
//    reconnects every 250 ms and the store is usable again without a restart.
// Connections: the writer's, the monitor's (LISTEN while followed), one for /stats and one per
// reader.
class pg_store final : public event_store {
 public:
  struct settings {
    std::size_t readers = 2;  // connections (each on its own strand) for /events pages
  };

  // Connects, creates or checks the schema (under an advisory lock, so nodes starting
  // together create it once) and starts the monitor. Throws std::runtime_error with one
  // clear line when the server cannot be reached or the database holds foreign tables.
  static std::unique_ptr<pg_store> open(const std::string& uri, settings s);
  ~pg_store() override;

  boost::system::error_code commit(std::span<const batch_entry> group) override;
  // While other nodes are committing too (another transaction held the counter lock when
  // this node last asked for it): opens the transaction and waits for the lock here, so the group
  // the consumer closes next includes what arrived during the wait. With k nodes busy, a commit
  // waits for k - 1 others; a group closed before that wait would leave every request arriving
  // meanwhile for the commit after it.
  bool take_turn() override;
  void read_page(page_query q, page_handler done) override;
  void read_last_seq(last_seq_handler done) override;
  void count_rejected(std::uint64_t invalid, std::uint64_t overloaded) noexcept override;
  store_stats stats() const override;
  bool writable() const noexcept override { return up_.load(std::memory_order_acquire); }
  bool readable() const noexcept override { return up_.load(std::memory_order_acquire); }
  std::string failure() const override;
  std::int64_t last_seq() const noexcept override {
    return visible_seq_.load(std::memory_order_acquire);
  }
  std::uint64_t commits() const noexcept override {
    return commits_.load(std::memory_order_relaxed);
  }
  void add_commit_listener(commit_listener l) override;
  void follow_commits(int delta) noexcept override;
  std::unique_ptr<fanout_cursor> open_fanout_cursor(const std::string& exchange) override;
  void close() noexcept override;

 private:
  pg_store(std::string uri, settings s);
  void create_schema();
  // The group's commit: one call of agg_commit_group, which sets every result; `last_seq` is
  // the counter row's after it (0 for an empty group). `in_turn`: take_turn() opened the
  // transaction and holds the lock, and COMMIT follows the call.
  boost::system::error_code write_group(std::span<const batch_entry> group, bool in_turn,
                                        std::int64_t& last_seq);
  // Tells the listeners about every seq up to `last` not told yet (any thread).
  void announce(std::int64_t last);
  void monitor_loop();
  bool monitor_connect();
  void flush_rejected();
  void mark_down(const std::string& why);
  void mark_up();
  bool wait_stop(std::chrono::milliseconds d);

  const std::string uri_;

  // Writer thread only.
  std::unique_ptr<pg_connection> writer_;
  // This group's keys -> 1-based position of their first copy; the group's arrays (kept to
  // reuse their buffers).
  std::unordered_map<std::string, std::size_t> firsts_;
  std::string key_, topics_, ids_, positions_, hashes_, timestamps_, sources_, payloads_;
  bool contended_ = false;  // the lock was held by another when last asked: take turns first
  bool turn_held_ = false;  // take_turn() holds the lock for the next commit()

  // Own commits are announced on the writer thread, other nodes' on the monitor thread.
  std::mutex notice_mu_;
  std::vector<commit_listener> listeners_;  // guarded by notice_mu_
  std::int64_t announced_ = 0;              // guarded by notice_mu_: last seq told to them
  // announced_ for any thread: other nodes' commits count from when their notice came.
  std::atomic<std::int64_t> visible_seq_{0};

  std::atomic<bool> up_{true};
  mutable std::mutex state_mu_;
  std::string failure_;  // guarded by state_mu_: why the store is down

  std::atomic<std::uint64_t> commits_{0};
  // Rejected requests not yet added to the shared counter row (flushed by the monitor).
  std::atomic<std::uint64_t> pending_invalid_{0};
  std::atomic<std::uint64_t> pending_overloaded_{0};

  // /stats: one query per call; concurrent callers share a query that started after they
  // called. The rejected flush runs under the same lock, so no answer counts a flushed
  // request twice or not at all.
  mutable std::mutex stats_mu_;
  mutable std::unique_ptr<pg_connection> stats_conn_;                 // guarded by stats_mu_
  mutable store_stats last_stats_;                                    // guarded by stats_mu_
  mutable std::chrono::steady_clock::time_point last_stats_start_{};  // guarded by stats_mu_

  std::atomic<int> followers_{0};
  int wake_fd_ = -1;  // an eventfd: the first follower wakes the monitor, which then listens

  // Monitor thread only.
  std::unique_ptr<pg_connection> listen_;
  bool listening_ = false;  // LISTEN agg_commit is in effect on listen_
  std::chrono::steady_clock::time_point last_followed_{};  // when followers_ was last above 0
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread monitor_;

  boost::asio::thread_pool read_pool_;
  struct reader_slot {
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand;
    std::unique_ptr<pg_connection> conn;  // its strand only; made again when broken
  };
  reader_slot& next_reader() noexcept;
  // On the slot's strand: its connection, made again when broken; false (the store marked
  // down) when PostgreSQL cannot be reached.
  bool reader_connected(reader_slot& slot);
  std::vector<std::unique_ptr<reader_slot>> readers_;
  std::atomic<std::size_t> next_reader_{0};
  bool closed_ = false;  // close() caller only
};

}  // namespace agg::store
