#pragma once

// Helpers of the fault tests on top of the tests/http/ harness: a plain POSIX socket for
// half-closes and trickles, running the binary to completion, tmpfs mounts, peak RSS, and the
// "nothing lost, nothing got in" check of the stored events against what was acknowledged.

#include "test_support.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace agg::test::faults {

// A blocking TCP socket with a receive timeout; what raw_connection cannot do: half-close,
// many cheap connections, a connect that may fail without throwing.
class posix_conn {
 public:
  posix_conn() = default;
  ~posix_conn() { close(); }
  posix_conn(posix_conn&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  posix_conn& operator=(posix_conn&& o) noexcept;
  posix_conn(const posix_conn&) = delete;
  posix_conn& operator=(const posix_conn&) = delete;

  // false when the connection cannot be made (the error stays in errno).
  bool connect(std::uint16_t port,
               std::chrono::milliseconds recv_timeout = std::chrono::seconds(10));
  // Writes everything; false on an error (reset, closed).
  bool send_all(std::string_view bytes);
  void shutdown_write();
  // Reads until the peer closes or the receive timeout; `timed_out` tells which.
  std::string read_until_close(bool* timed_out = nullptr);
  void close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// The status code of the first response in `raw` ("HTTP/1.1 431 ..."), 0 when there is none.
unsigned first_status(std::string_view raw);

// Runs the binary with `args` to its end (SIGKILL after `timeout`): for start-up failures.
struct run_result {
  process_exit exit;
  std::string output;  // standard error and standard output
};
run_result run_binary(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20));
std::string binary_path();

// A tmpfs mounted on a new folder; unmounted (lazily) by the destructor.
class tmpfs_mount {
 public:
  // nullopt-like: ok() is false and why() says why when mount is not permitted.
  tmpfs_mount(std::filesystem::path dir, std::string size);
  ~tmpfs_mount();
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  const std::filesystem::path& dir() const { return dir_; }
  // mount -o remount,size=<size>
  bool resize(const std::string& size);

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
  std::string why_;
};

// Peak resident set (VmHWM) of `pid` in KiB, 0 when unreadable.
std::size_t vm_hwm_kib(pid_t pid);

// Sanitizer reports (ASan, UBSan, LSan, TSan) in a server log; empty when there are none.
std::string sanitizer_report(std::string_view log);

// A unique event body of `bytes` payload padding, as json_util's make_event.
json::object padded_event(std::string_view topic, std::string_view id, std::size_t bytes);

// POSTs `body`, retrying after 503 overloaded (sleeping `pause`, not the full Retry-After, so
// the test stays short) up to `attempts` times. The last response is returned.
http_response publish_retrying(http_client& c, const std::string& body, int attempts,
                               std::chrono::milliseconds pause, int* retries = nullptr);

// Everything the store holds, checked against what clients were told: every key appears
// once, every acknowledged key is present, nothing that was never sent is present, and
// /stats agrees (unique_processed == stored, received == unique + duplicates,
// sum(topic_counts) == unique). Reports through Boost.Test; returns the stored keys.
std::set<event_key> check_store_consistent(http_client& c, const std::set<event_key>& acked,
                                           const std::set<event_key>* sent = nullptr);

}  // namespace agg::test::faults
