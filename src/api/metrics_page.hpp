#pragma once

#include "core/metrics.hpp"
#include "store/event_store.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agg::api {

// Everything GET /metrics shows besides the registry, read by the service at scrape time.
struct metrics_inputs {
  store::counters totals;  // the store's service-wide counters (agg_stored_events)
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
  bool store_up = true;
  std::optional<std::uint64_t> db_bytes;   // the SQLite file, when --db is a file
  std::optional<std::uint64_t> wal_bytes;  // its -wal file, when present
  metrics::process_figures process;
  std::string_view version;  // agg_build_info
  std::string_view sqlite_version;
};

// Pure: the Prometheus text exposition (format 0.0.4) of `m` and `in`.
std::string metrics_text(const metrics::registry& m, const metrics_inputs& in);

// The Content-Type of that text.
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4";

}  // namespace agg::api
