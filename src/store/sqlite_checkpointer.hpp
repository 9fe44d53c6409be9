#pragma once

#include "core/options.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace agg::store {

// Copies the WAL back into the database file on its own connection and thread, so that a
// commit never waits for a checkpoint's fsyncs: checkpointing inside COMMIT (SQLite's
// automatic checkpoint) stalled every waiting request for 50-500 ms on a real disk.
//
// The writer's connection has the automatic checkpoint turned off and calls committed(pages)
// after each commit (its wal hook). Every `pass_pages` frames written start a PASSIVE
// checkpoint (a pass), which never takes the write lock nor waits for readers, and copies the
// frames the WAL held when it began. Passes are paced by what was written, not run back to
// back: every pass syncs the WAL and the database file, and on a virtual disk each sync holds
// the CPU it runs on for milliseconds in the kernel, where the request threads and the clients
// sharing it wait. Back to back, passes made 640-770 fdatasyncs per second under sustained
// single events (wrk, 16 connections: p99 6-9 ms, against 1.5 ms with no checkpoints at all);
// paced, about 130 (4,504 against 917 in 7 s).
//
// Frames appended during a pass are left for the next one, so under sustained load no pass
// copies every frame, and SQLite starts the WAL file again from its beginning only after one
// has. Once the WAL holds `restart_pages` frames, the writer is asked to wait before its next
// transaction (wait_if_due) for one more pass, which copies what the last one left (a few
// milliseconds of writes); that transaction then starts the WAL again. This wait, and the
// fsync of the new WAL header inside that commit, are the checkpoints' whole cost on the
// commit path: once per restart_pages frames written. A reader holding old frames can keep
// the pass from copying them all: the writer then goes on after `catch_up_wait` and asks
// again an eighth of restart_pages later.
//
// The bound: once the WAL holds `limit_pages` frames, the writer waits (up to max_wait) until
// a pass that began after it stopped has copied every frame.
//
// Durability is SQLite's own: the checkpointing connection has the writer's `synchronous`
// level, so a checkpoint syncs the WAL before copying and the database file before the WAL
// may be reused, exactly as the automatic checkpoint did.
class sqlite_checkpointer {
 public:
  struct settings {
    sync_mode sync = sync_mode::normal;
    // WAL frames (of 4 KiB pages) written between the starts of two passes: 512 KiB. Smaller
    // makes more syncs, larger makes each sync longer and so the CPU stall it causes: wrk at
    // 64 connections had p99 4.1-4.7 ms with 512 KiB, 5.8-6.6 with 2 MiB, 7-9 with 8 MiB;
    // batches of 1000 pay ~5% of their rate for it against 2 MiB.
    std::uint32_t pass_pages = 128;
    // WAL frames that make the writer wait for the pass that lets it start the WAL again:
    // 128 MiB. Each start costs a wait of one pass and an fsync of the new WAL header (a power
    // loss could otherwise corrupt the file) inside a commit, stalling every request waiting
    // for it; with 32 MiB, four times as many stalls raised p99 at 64 connections by 2-4 ms.
    std::uint32_t restart_pages = 32768;
    std::uint32_t limit_pages = 65536;  // WAL frames (256 MiB) that hold the writer
    // Longest wait for the pass before a restart (two fsyncs, 3-10 ms on this project's disk):
    // a reader holding old frames keeps it from copying them all; the WAL then goes on
    // growing rather than hold commits.
    std::chrono::milliseconds catch_up_wait{50};
    // Longest wait at the bound: a checkpoint that cannot finish (a failing disk, a reader
    // holding an old snapshot) lets the WAL grow rather than stop the service.
    std::chrono::milliseconds max_wait{10000};
  };

  // Opens its own connection to `path` (an existing database in WAL mode) and starts the
  // thread. Throws std::runtime_error with one clear line.
  sqlite_checkpointer(const std::string& path, settings s);
  ~sqlite_checkpointer();

  sqlite_checkpointer(const sqlite_checkpointer&) = delete;
  sqlite_checkpointer& operator=(const sqlite_checkpointer&) = delete;

  // Writer thread, after each commit: the WAL now holds `wal_pages` frames.
  void committed(int wal_pages) noexcept;

  // Writer thread, before a write transaction: returns at once unless the WAL is due to start
  // again or has reached limit_pages; then waits until every frame is copied (or
  // catch_up_wait, max_wait passed).
  void wait_if_due() noexcept;

  // Checkpoints that copied every frame of the WAL, since the start (for tests).
  std::uint64_t complete_checkpoints() const noexcept;

  // Ends the thread (a checkpoint under way finishes first) and closes the connection.
  void stop() noexcept;

 private:
  void run() noexcept;
  // Under mu_: the writer waits for a pass it asked for and has not given up on.
  bool writer_waiting() const noexcept { return requested_ > std::max(served_, withdrawn_); }

  const settings s_;
  sqlite3* db_ = nullptr;  // the thread's only

  // Writer thread only: the WAL's frames as of the last commit, where the next pass starts,
  // from where the writer waits for a restart and where at the bound.
  int wal_pages_ = 0;
  int pass_at_ = static_cast<int>(s_.pass_pages);
  int restart_at_ = static_cast<int>(s_.restart_pages);
  int wait_at_pages_ = static_cast<int>(s_.limit_pages);

  // To the writer: no pass is under way, so a wait before a restart is for a single pass.
  std::atomic<bool> catch_up_due_{false};

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // to the thread: work is due, or stop
  std::condition_variable done_cv_;  // to the writer: a checkpoint finished
  bool pending_ = false;             // a checkpoint is due
  bool stopping_ = false;
  std::uint64_t requested_ = 0;  // writer waits asked for
  std::uint64_t served_ = 0;     // the requested_ value the last complete checkpoint began at
  std::uint64_t withdrawn_ = 0;  // the last wait the writer gave up
  std::uint64_t complete_ = 0;   // complete checkpoints

  std::thread thread_;
};

}  // namespace agg::store
