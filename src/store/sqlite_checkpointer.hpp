#pragma once

#include "core/options.hpp"

#include <sqlite3.h>

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
// after each commit (its wal hook). Once the WAL holds `start_pages` frames this thread runs
// PASSIVE checkpoints, which never take the write lock nor wait for readers, back to back
// while the WAL keeps growing. After a checkpoint that copied every frame, the writer's next
// transaction starts the WAL file again from its beginning (SQLite does that by itself), so
// with pauses between bursts the file stays about start_pages long.
//
// Under sustained load a checkpoint never catches up (frames are appended while it copies and
// syncs), and the WAL would grow without end. The bound: once it holds `limit_pages` frames,
// the writer waits before its next transaction (wait_if_over_limit) until a checkpoint that
// began after it stopped has copied every frame; that transaction then starts the WAL again.
// This wait, one checkpoint's copy and two fsyncs, is the only checkpoint cost left on the
// commit path besides the fsync of a new WAL header (see start_pages): once per limit_pages
// frames written.
//
// Durability is SQLite's own: the checkpointing connection has the writer's `synchronous`
// level, so a checkpoint syncs the WAL before copying and the database file before the WAL
// may be reused, exactly as the automatic checkpoint did.
class sqlite_checkpointer {
 public:
  struct settings {
    sync_mode sync = sync_mode::normal;
    // WAL frames (of 4 KiB pages) that start a checkpoint: 32 MiB. Every checkpoint that copies
    // the whole WAL makes the writer's next commit start the WAL file again, and SQLite fsyncs
    // the new WAL header inside that commit (a power loss could otherwise corrupt the file):
    // the one fsync left on the commit path, so it comes at most once per 32 MiB written.
    std::uint32_t start_pages = 8192;
    std::uint32_t limit_pages = 65536;  // WAL frames (256 MiB) that hold the writer
    // Longest wait_if_over_limit(): a checkpoint that cannot finish (a failing disk, a reader
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

  // Writer thread, before a write transaction: returns at once unless the WAL has reached
  // limit_pages; then waits until every frame is copied (or max_wait passed).
  void wait_if_over_limit() noexcept;

  // Checkpoints that copied every frame of the WAL, since the start (for tests).
  std::uint64_t complete_checkpoints() const noexcept;

  // Ends the thread (a checkpoint under way finishes first) and closes the connection.
  void stop() noexcept;

 private:
  void run() noexcept;

  const settings s_;
  sqlite3* db_ = nullptr;  // the thread's only

  // Writer thread only: the WAL's frames as of the last commit, and where the writer waits.
  int wal_pages_ = 0;
  int wait_at_pages_ = static_cast<int>(s_.limit_pages);

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // to the thread: work is due, or stop
  std::condition_variable done_cv_;  // to the writer: a checkpoint finished
  bool pending_ = false;             // a checkpoint is due
  bool stopping_ = false;
  std::uint64_t requested_ = 0;  // writer waits asked for
  std::uint64_t served_ = 0;     // the requested_ value the last complete checkpoint began at
  std::uint64_t complete_ = 0;   // complete checkpoints

  std::thread thread_;
};

}  // namespace agg::store
