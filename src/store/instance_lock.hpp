#pragma once

#include <string>

namespace agg::store {

// Holds an exclusive flock(2) on a database file for as long as this object lives, so that a
// second server on the same file (a second container on one volume, a second scripts/run)
// is refused at start instead of both assigning the same seqs. The kernel drops the lock when
// the process dies, so a restart after kill -9 starts at once. Short-lived commands of the
// binary (key management) do not take it: SQLite's own locking keeps their writes safe.
class instance_lock {
 public:
  // Throws std::runtime_error with one line naming the file when another process holds it.
  explicit instance_lock(const std::string& path);
  ~instance_lock();
  instance_lock(const instance_lock&) = delete;
  instance_lock& operator=(const instance_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace agg::store
