#pragma once

#include "consumer/publish_job.hpp"
#include "core/bounded_queue.hpp"
#include "core/errc.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "store/event_store.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace agg::consumer {

struct consumer_options {
  std::size_t queue_capacity = 65536;      // events admitted but not yet committed
  std::size_t batch_max = 4096;            // most events per transaction
  std::chrono::microseconds linger{2000};  // longest wait for a batch to fill
};

// The idempotent consumer. Submitters (HTTP sessions, the broker intake) hand in whole
// requests through a lock-free bounded queue; the write strand drains it, groups requests up
// to batch_max events, has the store commit each group in one transaction and only then
// completes its requests. The store decides each event's fate; the consumer owns admission,
// batching, linger and completions. The write strand runs on the consumer's own thread:
// submitters never touch the store.
class consumer {
 public:
  consumer(store::event_store& store, consumer_options opts, logger& log);
  ~consumer();

  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  // Admits the whole job or nothing: errc::ok, overloaded (queue full), too_large (more events
  // than the queue can ever hold), unavailable (store failed) or shutting_down.
  errc submit(std::shared_ptr<publish_job> job);

  // Stops admitting, commits everything admitted and joins the thread. Call after the
  // submitters stopped; the store is closed by its owner afterwards.
  void stop();

  std::size_t queue_depth() const noexcept { return depth_.load(std::memory_order_relaxed); }
  std::size_t queue_capacity() const noexcept { return opts_.queue_capacity; }

 private:
  void wake();
  void on_wake();                            // write strand
  void collect();                            // write strand: queue -> batch_
  void on_linger(std::uint64_t generation);  // write strand
  void flush();                              // write strand: commit batch_ and complete its jobs
  void complete(std::vector<std::shared_ptr<publish_job>>& jobs);
  // After a successful commit: the event counters and the commit histograms of /metrics.
  static void record_commit(const std::vector<std::shared_ptr<publish_job>>& jobs,
                            std::chrono::steady_clock::time_point start) noexcept;

  const consumer_options opts_;
  logger& log_;
  store::event_store& store_;  // commit() on the write strand only

  bounded_queue<std::shared_ptr<publish_job>> queue_;
  std::atomic<std::size_t> depth_{0};  // events admitted and not yet taken by the writer
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> stopping_{false};

  // Write strand only.
  std::vector<std::shared_ptr<publish_job>> batch_;
  std::size_t batch_events_ = 0;
  std::vector<store::batch_entry> group_;  // batch_ as the store sees it
  std::chrono::steady_clock::time_point linger_deadline_;
  std::chrono::steady_clock::time_point last_commit_;  // end of the last flush
  std::size_t linger_seen_ = 0;                        // batch_events_ at the last linger check
  std::uint64_t linger_generation_ = 0;                // tells a stale timer from the current one
  bool lingering_ = false;
  bool failure_logged_ = false;
  std::string dup_lines_;  // the batch's duplicate log lines, written after its commit

  // One thread: the write strand keeps it busy under load. Pages are read on the store's own.
  boost::asio::thread_pool pool_{1};
  boost::asio::strand<boost::asio::thread_pool::executor_type> write_strand_;
  boost::asio::steady_timer linger_timer_;  // write strand only
};

}  // namespace agg::consumer
