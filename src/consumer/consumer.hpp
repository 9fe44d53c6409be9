#pragma once

#include "consumer/dedup_index.hpp"
#include "core/bounded_queue.hpp"
#include "core/errc.hpp"
#include "core/event.hpp"
#include "core/log.hpp"
#include "store/sqlite_reader.hpp"
#include "store/sqlite_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace agg::consumer {

// One admitted publish request. The session fills `events` and `on_done`; the consumer fills
// `results` (request order) or `error`, then posts `on_done` to `executor` once the commit
// that made the events durable has returned.
struct publish_job {
  std::vector<event> events;
  std::vector<char> text;  // owns the bytes the events' fields view
  std::vector<event_result> results;
  boost::system::error_code error;  // errc::unavailable when the store failed
  // The session's executor, tracking outstanding work: the HTTP context keeps running until
  // every admitted request has been answered, also during shutdown.
  boost::asio::any_io_executor executor;
  std::function<void(publish_job&)> on_done;
};

struct consumer_options {
  std::size_t queue_capacity = 65536;      // events admitted but not yet committed
  std::size_t batch_max = 4096;            // most events per transaction
  std::chrono::microseconds linger{2000};  // longest wait for a batch to fill
  std::size_t readers = 2;                 // read connections (and strands) for /events
  // Where the answers of a commit are handed over: one post per commit to this executor (the
  // HTTP io_context), which then posts each request's handler to its session. Posting each
  // handler from the consumer thread instead wakes an HTTP thread per request. Default: none,
  // each handler is posted straight to its job's executor.
  boost::asio::any_io_executor completion_executor;
};

// Events per topic. std::less<> looks topics up by string_view without a copy.
using topic_counts = std::map<std::string, std::uint64_t, std::less<>>;

// A consistent copy of the counters for /stats.
struct stats_snapshot {
  store::counters totals;
  std::vector<std::pair<std::string, std::uint64_t>> topic_counts;  // sorted by topic
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
};

// The idempotent consumer. HTTP threads submit whole requests into a lock-free bounded queue;
// the write strand drains it, decides accepted / duplicate / conflict for each event against
// the exact index, writes a whole group of requests in one SQLite transaction and only after
// the commit completes each request. Reader strands serve /events from their own connections.
// All of it runs on the consumer's own thread pool: HTTP threads never touch SQLite.
class consumer {
 public:
  // Recovers the index and counters from `store` before returning (throws on a read error).
  consumer(std::unique_ptr<store::sqlite_store> store, consumer_options opts, logger& log);
  ~consumer();

  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  // Admits the whole job or nothing: errc::ok, overloaded (queue full), too_large (more events
  // than the queue can ever hold), unavailable (store failed) or shutting_down.
  errc submit(std::shared_ptr<publish_job> job);

  // Runs fn on a reader strand with that strand's connection.
  void read(std::function<void(store::sqlite_reader&)> fn);

  // Stops admitting, commits everything admitted, saves the counters, checkpoints and joins
  // the threads. Call after the HTTP side stopped submitting.
  void stop();

  void count_rejected_invalid() noexcept {
    rejected_invalid_.fetch_add(1, std::memory_order_relaxed);
  }
  void count_rejected_overloaded() noexcept {
    rejected_overloaded_.fetch_add(1, std::memory_order_relaxed);
  }

  stats_snapshot snapshot() const;
  // Empty while healthy; after a failed write, why (sticky until restart).
  std::string failure() const;
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

 private:
  void wake();
  void on_wake();                            // write strand
  void collect();                            // write strand: queue -> batch_
  void on_linger(std::uint64_t generation);  // write strand
  void flush();                              // write strand: commit batch_ and complete its jobs
  boost::system::error_code write_batch(const std::vector<std::shared_ptr<publish_job>>& jobs,
                                        store::counters& totals, topic_counts& topic_delta);
  void complete(std::vector<std::shared_ptr<publish_job>>& jobs);
  void fail(const std::string& why);
  store::counters current_rejected(store::counters c) const noexcept;

  const consumer_options opts_;
  logger& log_;
  std::unique_ptr<store::sqlite_store> store_;  // write strand only

  bounded_queue<std::shared_ptr<publish_job>> queue_;
  std::atomic<std::size_t> depth_{0};  // events admitted and not yet taken by the writer
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> failed_{false};
  std::atomic<std::uint64_t> rejected_invalid_{0};
  std::atomic<std::uint64_t> rejected_overloaded_{0};

  // Write strand only.
  dedup_index index_;
  std::int64_t last_seq_ = 0;
  store::counters committed_;  // the counters as last committed
  std::vector<std::shared_ptr<publish_job>> batch_;
  std::size_t batch_events_ = 0;
  std::chrono::steady_clock::time_point linger_deadline_;
  std::chrono::steady_clock::time_point last_commit_;  // end of the last flush
  std::size_t linger_seen_ = 0;                        // batch_events_ at the last linger check
  std::uint64_t linger_generation_ = 0;                // tells a stale timer from the current one
  bool lingering_ = false;
  store::stored_key scratch_key_;
  std::string dup_lines_;  // the batch's duplicate log lines, written after its commit
  std::vector<std::uint64_t> new_hashes_;  // key hashes of the batch's new events, seq order

  mutable std::mutex stats_mu_;
  store::counters stats_totals_;  // guarded by stats_mu_
  topic_counts topic_counts_;     // guarded by stats_mu_
  std::string failure_;           // guarded by stats_mu_

  boost::asio::thread_pool pool_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> write_strand_;
  boost::asio::steady_timer linger_timer_;  // write strand only
  struct reader_slot {
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand;
    std::unique_ptr<store::sqlite_reader> reader;  // its strand only
  };
  std::vector<reader_slot> readers_;
  std::atomic<std::size_t> next_reader_{0};
};

}  // namespace agg::consumer
