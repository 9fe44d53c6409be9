#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace agg::bridge {

// What one side of the bridge (intake or fan-out) is doing now, for /health and /stats.
enum class link_state : std::uint8_t {
  off,         // not configured
  connecting,  // (re)connecting, or waiting for the next try after a failure
  running,     // consuming / publishing
  paused,      // intake: the store is unavailable, nothing consumed
  standby,     // fan-out: another node publishes to the exchange (PostgreSQL)
};

const char* to_string(link_state s) noexcept;

// One side's state and counts: written by its own thread, read by /health, /stats and
// /metrics on the I/O threads (atomics; the last error under mu).
struct link_status {
  std::atomic<link_state> state{link_state::off};
  std::atomic<std::uint64_t> connects{0};  // sessions opened with the broker

  void set_error(std::string e) {
    std::lock_guard lk(mu);
    last_error = std::move(e);
  }
  std::string error() const {
    std::lock_guard lk(mu);
    return last_error;
  }

 private:
  mutable std::mutex mu;
  std::string last_error;  // guarded by mu: why the last session ended or could not start
};

// The bridge's counters (agg_amqp_*_total), since the process started.
struct bridge_counters {
  std::atomic<std::uint64_t> consumed{0};   // messages delivered to the intake
  std::atomic<std::uint64_t> acked{0};      // messages acked after their commit
  std::atomic<std::uint64_t> rejected{0};   // messages rejected as invalid (no requeue)
  std::atomic<std::uint64_t> published{0};  // events published to the exchange
  std::atomic<std::uint64_t> confirmed{0};  // of those, confirmed by the broker
  std::atomic<std::int64_t> fanout_seq{0};  // last seq confirmed (the cursor)
};

// Waits between reconnection attempts: 250 ms doubling to 5 s; reset after a session that ran.
class backoff {
 public:
  std::chrono::milliseconds next() noexcept {
    const auto d = delay_;
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(5000));
    return d;
  }
  void reset() noexcept { delay_ = std::chrono::milliseconds(250); }

 private:
  std::chrono::milliseconds delay_{250};
};

}  // namespace agg::bridge
