#include "store/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace agg::store {

instance_lock::instance_lock(const std::string& path) {
  // Read-only is enough for flock and works on a read-only mount; the file exists by now.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("cannot open --db " + path + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  const int err = errno;
  ::close(fd_);
  if (err == EWOULDBLOCK)
    throw std::runtime_error("--db " + path +
                             " is in use by another running aggregator; stop it first or give "
                             "this one another --db");
  throw std::runtime_error("cannot lock --db " + path + ": " + std::strerror(err));
}

instance_lock::~instance_lock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

}  // namespace agg::store
