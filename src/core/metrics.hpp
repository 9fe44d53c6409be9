#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

// What GET /metrics shows, recorded where it happens (transport, service, consumer, store) into
// one registry per process. Recording is an atomic add with relaxed order on memory that exists
// from start to exit: no lock and no allocation per event or request. The text is written at
// scrape time by api's metrics page through the pure writer in core/exposition.hpp.
namespace agg::metrics {

// The `route` label of agg_requests_total and agg_request_duration_seconds: a fixed set, so a
// client's path never becomes a label value.
enum class route : std::uint8_t { publish, events, subscribe, stats, health, metrics, other };
inline constexpr std::size_t route_count = 7;
std::string_view route_name(route r) noexcept;
// Pure: the route of a request target (path and query, as sent); `other` for anything unknown.
route route_of(std::string_view target) noexcept;

// The `transport` label of agg_subscribers.
enum class transport : std::uint8_t { sse, websocket, ndjson };
inline constexpr std::size_t transport_count = 3;
std::string_view transport_name(transport t) noexcept;

class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class gauge {
 public:
  void set(std::int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) noexcept { v_.fetch_sub(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// A histogram as the exposition writer sees it. Observations and bounds are integers in a base
// unit (nanoseconds, events, milliseconds); `per_second` divides them into the exposed unit.
struct histogram_data {
  std::span<const std::uint64_t> bounds;  // ascending upper bounds ("le"), +Inf implied
  std::vector<std::uint64_t> counts;      // per bucket, NOT cumulative; bounds.size() + 1
  std::uint64_t sum = 0;                  // in the base unit
  double unit = 1;                        // base units per exposed unit (1e9 for ns -> s)
};

// Fixed buckets chosen at compile time: an observation is one binary search over at most ~20
// bounds and two relaxed atomic adds.
template <const auto& Bounds, std::uint64_t Unit>
class histogram {
 public:
  void observe(std::uint64_t v) noexcept {
    const auto i = static_cast<std::size_t>(std::lower_bound(Bounds.begin(), Bounds.end(), v) -
                                            Bounds.begin());  // first bound >= v: "le"
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }
  // The time since `start`, in nanoseconds (for the duration histograms).
  void observe_since(std::chrono::steady_clock::time_point start) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    observe(static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0)));
  }
  histogram_data data() const {
    histogram_data d{Bounds, {}, 0, static_cast<double>(Unit)};
    d.counts.reserve(counts_.size());
    for (const auto& c : counts_) d.counts.push_back(c.load(std::memory_order_relaxed));
    d.sum = sum_.load(std::memory_order_relaxed);
    return d;
  }

 private:
  std::array<std::atomic<std::uint64_t>, Bounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_{0};
};

// Bucket bounds, each fitted to what it measures.
// Request duration (ns): a read answers in tens of microseconds, a publish waits for its
// commit (about a millisecond on a local disk); seconds mean trouble.
inline constexpr std::array<std::uint64_t, 17> request_ns_bounds{
    25'000,      50'000,      100'000,       250'000,       500'000,      1'000'000,
    2'500'000,   5'000'000,   10'000'000,    25'000'000,    50'000'000,   100'000'000,
    250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000};
// Commit duration (ns): an fsync-free WAL append is ~0.1-1 ms, a full sync or a checkpoint
// several ms; a stalled disk seconds.
inline constexpr std::array<std::uint64_t, 16> commit_ns_bounds{
    100'000,       250'000,       500'000,       1'000'000,     2'500'000,   5'000'000,
    10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000, 500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
// New events per transaction: 1 when idle, up to --batch-max (default 4096) under load.
inline constexpr std::array<std::uint64_t, 15> commit_events_bounds{
    0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 100000};
// Duplicate age (ms): retries within a request or a second, redeliveries after minutes or
// hours, replays of old data after days.
inline constexpr std::array<std::uint64_t, 16> duplicate_ms_bounds{10,
                                                                   100,
                                                                   1'000,
                                                                   10'000,
                                                                   60'000,
                                                                   300'000,
                                                                   900'000,
                                                                   3'600'000,
                                                                   21'600'000,
                                                                   86'400'000,
                                                                   259'200'000,
                                                                   604'800'000,
                                                                   1'209'600'000,
                                                                   2'592'000'000,
                                                                   7'776'000'000,
                                                                   31'536'000'000};

using request_histogram = histogram<request_ns_bounds, 1'000'000'000>;
using commit_histogram = histogram<commit_ns_bounds, 1'000'000'000>;
using batch_histogram = histogram<commit_events_bounds, 1>;
using age_histogram = histogram<duplicate_ms_bounds, 1'000>;

// HTTP statuses 100..599 each have a counter per route: 7 x 500 x 8 bytes, allocated once.
inline constexpr unsigned first_status = 100;
inline constexpr unsigned status_count = 500;

// The process's metrics. Members are recorded from any thread.
class registry {
 public:
  // Events as the store decided them, counted by the consumer after each successful commit.
  counter events_received;
  counter events_stored;
  counter events_duplicate;  // conflicts included
  counter events_conflict;

  // Requests refused, as /stats `rejected` counts them (this process only).
  counter rejected_invalid;     // answered 4xx
  counter rejected_overloaded;  // answered 503 with Retry-After

  commit_histogram commit_duration;  // one store transaction, begin to durable commit
  batch_histogram commit_events;     // new events written per transaction
  age_histogram duplicate_age;       // duplicate's arrival - first copy's received_at

  // The store's in-memory dedup index (set by the store after each commit).
  gauge dedup_entries;
  gauge dedup_bytes;

  // agg_requests_total{route,code}: a status outside 100..599 counts as 599 (never happens:
  // the service only answers with statuses it names).
  counter& requests(route r, unsigned status) noexcept {
    const unsigned s = std::clamp(status, first_status, first_status + status_count - 1);
    return requests_[static_cast<std::size_t>(r)][s - first_status];
  }
  const counter& requests(route r, unsigned status) const noexcept {
    return const_cast<registry*>(this)->requests(r, status);
  }
  request_histogram& request_duration(route r) noexcept {
    return request_duration_[static_cast<std::size_t>(r)];
  }
  const request_histogram& request_duration(route r) const noexcept {
    return request_duration_[static_cast<std::size_t>(r)];
  }
  // agg_subscribers{transport}: open streams. The code that opens a stream calls add(1) once
  // its head (or 101) is sent and sub(1) when the stream ends.
  gauge& subscribers(transport t) noexcept { return subscribers_[static_cast<std::size_t>(t)]; }
  const gauge& subscribers(transport t) const noexcept {
    return subscribers_[static_cast<std::size_t>(t)];
  }

 private:
  std::array<std::array<counter, status_count>, route_count> requests_;
  std::array<request_histogram, route_count> request_duration_;
  std::array<gauge, transport_count> subscribers_;
};

// The one registry of this process, created on first use and never destroyed (threads that
// outlive main's objects may still record).
registry& process() noexcept;

// The standard process_* figures, read from /proc at scrape time (Linux). A figure that cannot
// be read is negative and left out.
struct process_figures {
  double cpu_seconds = -1;
  double resident_bytes = -1;
  double virtual_bytes = -1;
  double open_fds = -1;
  double max_fds = -1;
  double start_time_seconds = -1;  // since the Unix epoch
};
process_figures read_process_figures();

}  // namespace agg::metrics
