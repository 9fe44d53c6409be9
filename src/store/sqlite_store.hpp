#pragma once

#include "core/options.hpp"
#include "store/dedup_index.hpp"
#include "store/event_store.hpp"
#include "store/instance_lock.hpp"
#include "store/seq_list.hpp"
#include "store/sqlite_checkpointer.hpp"
#include "store/sqlite_reader.hpp"
#include "store/sqlite_writer.hpp"

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace agg::store {

// The embedded store: one SQLite file in WAL mode, served by one process (instance_lock).
// Identity is decided by an exact in-memory index (key hash -> seq, every candidate confirmed
// against the stored row), so a commit only appends; seqs are the table's rowids. /events
// pages are read on the store's own reader connections and threads, and the WAL is copied
// into the database file by a checkpointer on its own connection and thread, off the commit
// path (see sqlite_checkpointer for the bound on the WAL's growth).
class sqlite_store final : public event_store {
 public:
  struct settings {
    sync_mode sync = sync_mode::normal;  // see sync_mode
    std::size_t readers = 2;             // read connections (each on its own strand) for pages
    // WAL frames written between two checkpoint passes, that let the writer start the WAL
    // again, and that hold the writer until a pass copied them all (see sqlite_checkpointer).
    std::uint32_t checkpoint_pages = sqlite_checkpointer::settings{}.pass_pages;
    std::uint32_t wal_restart_pages = sqlite_checkpointer::settings{}.restart_pages;
    std::uint32_t wal_limit_pages = sqlite_checkpointer::settings{}.limit_pages;
    // Longest wait for the pass that lets the WAL start again (catch_up_wait): 50 ms. Tests set
    // it long, so that a slow disk or a CPU shared with other tests cannot make the writer give
    // up every wait.
    std::chrono::milliseconds wal_restart_wait = sqlite_checkpointer::settings{}.catch_up_wait;
  };

  // Locks the file against a second server, opens or creates it, and rebuilds the index and
  // counters before returning. Throws std::runtime_error with one clear line.
  static std::unique_ptr<sqlite_store> open(const std::string& path, settings s);
  ~sqlite_store() override;

  boost::system::error_code commit(std::span<const batch_entry> group) override;
  void read_page(page_query q, page_handler done) override;
  void count_rejected(std::uint64_t invalid, std::uint64_t overloaded) noexcept override;
  store_stats stats() const override;
  bool writable() const noexcept override { return !failed_.load(std::memory_order_acquire); }
  std::string failure() const override;
  std::uint64_t commits() const noexcept override {
    return commits_.load(std::memory_order_relaxed);
  }
  std::int64_t last_seq() const noexcept override {
    return visible_seq_.load(std::memory_order_acquire);
  }
  void add_commit_listener(commit_listener l) override { listeners_.push_back(std::move(l)); }
  std::unique_ptr<fanout_cursor> open_fanout_cursor(const std::string& exchange) override;
  void close() noexcept override;

 private:
  sqlite_store(const std::string& path, settings s);
  // Writes the group as seqs first_seq, first_seq + 1, ... (without committing).
  boost::system::error_code write_group(std::span<const batch_entry> group, std::int64_t first_seq,
                                        counters& totals);
  boost::system::error_code decide(const event& e, event_result& r, bool& found);
  counters with_rejected(counters c) const noexcept;
  void fail(const std::string& why);
  void publish_index_size() noexcept;  // the dedup gauges of /metrics (writer thread)

  // Taken right after the writer opened the file (which creates it), before anything is read;
  // the first member, so it is released only after every connection has closed.
  std::unique_ptr<instance_lock> lock_;
  std::unique_ptr<sqlite_writer> writer_;  // writer thread only
  std::unique_ptr<sqlite_checkpointer> checkpointer_;

  // Writer thread only.
  dedup_index index_;
  std::int64_t last_seq_ = 0;
  counters committed_;  // as last committed (rejected counts included)
  std::map<std::string, seq_list, std::less<>> topic_delta_;  // this commit's new events
  std::vector<std::uint64_t> new_hashes_;  // key hashes of this commit's new events, seq order
  stored_key scratch_key_;
  std::vector<commit_listener> listeners_;  // filled before the first commit

  std::atomic<bool> failed_{false};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::int64_t> visible_seq_{0};  // last_seq_ as of the last commit
  std::atomic<std::uint64_t> rejected_invalid_{0};
  std::atomic<std::uint64_t> rejected_overloaded_{0};

  mutable std::mutex stats_mu_;
  counters stats_totals_;  // guarded by stats_mu_: committed_ as of the last commit
  std::map<std::string, std::uint64_t, std::less<>> topic_counts_;  // guarded by stats_mu_
  std::string failure_;                                             // guarded by stats_mu_

  boost::asio::thread_pool read_pool_;
  struct reader_slot {
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand;
    std::unique_ptr<sqlite_reader> reader;  // its strand only
  };
  std::vector<reader_slot> readers_;
  std::atomic<std::size_t> next_reader_{0};
};

}  // namespace agg::store
