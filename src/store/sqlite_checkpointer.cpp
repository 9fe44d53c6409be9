#include "store/sqlite_checkpointer.hpp"

#include "store/statement.hpp"

#include <pthread.h>

#include <algorithm>
#include <stdexcept>

namespace agg::store {
namespace {

// Between checkpoints that could not copy everything while the writer waits (a reader still
// reads an older snapshot), and after a failed one: long enough not to spin, short against a
// reader's page.
constexpr std::chrono::milliseconds retry_pause{1};
constexpr std::chrono::milliseconds failure_pause{100};

}  // namespace

sqlite_checkpointer::sqlite_checkpointer(const std::string& path, settings s) : s_(s) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::string msg;
  if (rc != SQLITE_OK) {
    msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw std::runtime_error("cannot open --db " + path + " for checkpoints: " + msg);
  }
  // The checkpoint's syncs follow this connection's level: the writer's. The first read opens
  // the WAL (a connection learns the journal mode from the file).
  const char* setup = s.sync == sync_mode::full
                          ? "PRAGMA synchronous = FULL; SELECT count(*) FROM sqlite_master"
                          : "PRAGMA synchronous = NORMAL; SELECT count(*) FROM sqlite_master";
  sqlite3_busy_timeout(db_, 5000);
  if (exec(db_, setup, &msg)) {
    sqlite3_close(db_);
    throw std::runtime_error("cannot open --db " + path + " for checkpoints: " + msg);
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "agg-checkpoint");  // for top -H, perf and strace
    run();
  });
}

sqlite_checkpointer::~sqlite_checkpointer() {
  stop();
}

void sqlite_checkpointer::committed(int wal_pages) noexcept {
  if (wal_pages < wal_pages_) {  // the WAL started again
    pass_at_ = static_cast<int>(s_.pass_pages);
    restart_at_ = static_cast<int>(s_.restart_pages);
    wait_at_pages_ = static_cast<int>(s_.limit_pages);
  }
  wal_pages_ = wal_pages;
  // Past restart_at_ no pass starts here: the one under way ends idle, so the writer's wait
  // that follows is for a single pass, not for the rest of one already running too.
  if (wal_pages < pass_at_ || wal_pages >= restart_at_) return;
  pass_at_ = wal_pages + static_cast<int>(s_.pass_pages);
  std::lock_guard lk(mu_);
  if (!pending_) {
    pending_ = true;
    work_cv_.notify_one();
  }
}

void sqlite_checkpointer::wait_if_due() noexcept {
  const bool at_limit = wal_pages_ >= wait_at_pages_;
  if (!at_limit && !(wal_pages_ >= restart_at_ && catch_up_due_.load(std::memory_order_acquire)))
    return;
  catch_up_due_.store(false, std::memory_order_relaxed);
  std::unique_lock lk(mu_);
  if (stopping_) return;
  const std::uint64_t ticket = ++requested_;
  pending_ = true;
  work_cv_.notify_one();
  const bool served = done_cv_.wait_for(lk, at_limit ? s_.max_wait : s_.catch_up_wait,
                                        [&] { return served_ >= ticket || stopping_; });
  // Served: the next transaction starts the WAL again, and committed() sees it. Not started
  // (a reader still held old frames, or a sync took over catch_up_wait: this disk has 50 ms
  // ones) or given up: ask again after an eighth of restart_pages more (limit_pages at the
  // bound), so a pass that cannot finish never holds every commit, and one slow sync does not
  // let the WAL run into its bound.
  if (!served) withdrawn_ = ticket;
  restart_at_ = wal_pages_ + std::max(1, static_cast<int>(s_.restart_pages / 8));
  if (at_limit)
    wait_at_pages_ =
        served ? static_cast<int>(s_.limit_pages) : wal_pages_ + static_cast<int>(s_.limit_pages);
}

std::uint64_t sqlite_checkpointer::complete_checkpoints() const noexcept {
  std::lock_guard lk(mu_);
  return complete_;
}

void sqlite_checkpointer::run() noexcept {
  std::unique_lock lk(mu_);
  int last_copied = -1;
  for (;;) {
    work_cv_.wait(lk, [&] { return pending_ || stopping_; });
    if (stopping_) return;
    pending_ = false;
    const std::uint64_t began_for = requested_;
    const bool writer_waits = writer_waiting();
    catch_up_due_.store(false, std::memory_order_relaxed);  // a pass is under way
    lk.unlock();
    int frames = 0, copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    lk.lock();
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      // A failing disk: the writer finds out through its own commits; let it go on now.
      served_ = began_for;
      done_cv_.notify_all();
      work_cv_.wait_for(lk, failure_pause, [&] { return stopping_; });
      continue;
    }
    const bool all = rc == SQLITE_OK && copied == frames;
    if (all) {
      ++complete_;
      served_ = began_for;
      done_cv_.notify_all();
    }
    if (writer_waits && !all && writer_waiting()) {
      // A reader still needs older frames: again, while the writer waits.
      pending_ = true;
      if (copied == last_copied) work_cv_.wait_for(lk, retry_pause, [&] { return stopping_; });
      last_copied = copied;
      continue;
    }
    last_copied = -1;
    // No pass is under way now: a writer past restart_at_ may wait for the next one, which
    // copies only what this one left. Set after every pass, even one that copied every frame
    // it saw or that a writer waited for: a commit that ended just after it may have added
    // frames, and past restart_at_ no commit starts a pass, so without this the writer would
    // never wait again and the WAL would grow to its bound (a test saw 3,600 frames against a
    // restart at 200, with the CPUs shared).
    catch_up_due_.store(true, std::memory_order_release);
  }
}

void sqlite_checkpointer::stop() noexcept {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (db_) {
    sqlite3_close(db_);
    db_ = nullptr;
  }
}

}  // namespace agg::store
