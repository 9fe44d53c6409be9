#include "api/metrics_page.hpp"

#include "core/exposition.hpp"

#include <boost/version.hpp>

namespace agg::api {
namespace {

constexpr metrics::route all_routes[] = {metrics::route::publish,   metrics::route::events,
                                         metrics::route::subscribe, metrics::route::stats,
                                         metrics::route::health,    metrics::route::metrics,
                                         metrics::route::other};

void counter(metrics::exposition& x, std::string_view name, std::string_view help,
             std::uint64_t v) {
  x.family(name, "counter", help);
  x.sample(name, {}, v);
}

void gauge(metrics::exposition& x, std::string_view name, std::string_view help, double v) {
  x.family(name, "gauge", help);
  x.sample(name, {}, v);
}

}  // namespace

std::string metrics_text(const metrics::registry& m, const metrics_inputs& in) {
  metrics::exposition x;
  counter(x, "agg_events_received_total", "Valid events decided (stored or dropped).",
          m.events_received.value());
  counter(x, "agg_events_stored_total", "Events stored.", m.events_stored.value());
  counter(x, "agg_events_duplicate_total", "Copies dropped as duplicates, conflicts included.",
          m.events_duplicate.value());
  counter(x, "agg_events_conflict_total", "Dropped copies whose content differed.",
          m.events_conflict.value());

  x.family("agg_requests_total", "counter",
           "Answered requests by route and status (a stream counts when its head or 101 is "
           "sent).");
  for (const auto r : all_routes)
    for (unsigned code = metrics::first_status;
         code < metrics::first_status + metrics::status_count; ++code)
      if (const auto v = m.requests(r, code).value()) {
        const std::string c = std::to_string(code);
        x.sample("agg_requests_total", {{"route", metrics::route_name(r)}, {"code", c}}, v);
      }
  x.family("agg_requests_rejected_total", "counter",
           "Requests refused: invalid (answered 4xx) or overloaded (503 with Retry-After).");
  x.sample("agg_requests_rejected_total", {{"reason", "invalid"}}, m.rejected_invalid.value());
  x.sample("agg_requests_rejected_total", {{"reason", "overloaded"}},
           m.rejected_overloaded.value());

  x.family("agg_request_duration_seconds", "histogram",
           "From the request's last byte read to its answer's first byte written.");
  for (const auto r : all_routes)
    x.histogram("agg_request_duration_seconds", {{"route", metrics::route_name(r)}},
                m.request_duration(r).data());
  x.family("agg_commit_duration_seconds", "histogram",
           "One store transaction, begin to durable commit.");
  x.histogram("agg_commit_duration_seconds", {}, m.commit_duration.data());
  x.family("agg_commit_events", "histogram", "New events written per transaction.");
  x.histogram("agg_commit_events", {}, m.commit_events.data());
  x.family("agg_duplicate_age_seconds", "histogram",
           "How long after the first copy was stored a duplicate arrived.");
  x.histogram("agg_duplicate_age_seconds", {}, m.duplicate_age.data());

  gauge(x, "agg_queue_depth", "Events admitted and waiting for their commit.",
        static_cast<double>(in.queue_depth));
  gauge(x, "agg_queue_capacity", "Events the intake queue holds (--queue-capacity).",
        static_cast<double>(in.queue_capacity));
  x.family("agg_subscribers", "gauge", "Open streams by transport.");
  for (const auto t :
       {metrics::transport::sse, metrics::transport::websocket, metrics::transport::ndjson})
    x.sample("agg_subscribers", {{"transport", metrics::transport_name(t)}},
             m.subscribers(t).value());
  gauge(x, "agg_store_up", "1 while the store accepts writes, else 0.", in.store_up ? 1 : 0);
  gauge(x, "agg_stored_events", "Events in the store (all nodes); equals /stats unique_processed.",
        static_cast<double>(in.totals.unique_processed));
  if (in.db_bytes || in.wal_bytes) {
    x.family("agg_store_file_bytes", "gauge", "Size of the store's files: db and its WAL.");
    if (in.db_bytes) x.sample("agg_store_file_bytes", {{"file", "db"}}, *in.db_bytes);
    if (in.wal_bytes) x.sample("agg_store_file_bytes", {{"file", "wal"}}, *in.wal_bytes);
  }
  gauge(x, "agg_dedup_index_entries", "Keys in the in-memory dedup index.",
        static_cast<double>(m.dedup_entries.value()));
  gauge(x, "agg_dedup_index_bytes", "Memory of the in-memory dedup index's table.",
        static_cast<double>(m.dedup_bytes.value()));

  x.family("agg_build_info", "gauge", "Always 1; the labels say what is running.");
  const std::string boost = std::to_string(BOOST_VERSION / 100000) + "." +
                            std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                            std::to_string(BOOST_VERSION % 100);
  x.sample("agg_build_info",
           {{"version", in.version}, {"boost", boost}, {"sqlite", in.sqlite_version}},
           std::uint64_t{1});

  const auto& p = in.process;
  if (p.cpu_seconds >= 0) {
    x.family("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.");
    x.sample("process_cpu_seconds_total", {}, p.cpu_seconds);
  }
  if (p.resident_bytes >= 0)
    gauge(x, "process_resident_memory_bytes", "Resident memory size in bytes.", p.resident_bytes);
  if (p.virtual_bytes >= 0)
    gauge(x, "process_virtual_memory_bytes", "Virtual memory size in bytes.", p.virtual_bytes);
  if (p.open_fds >= 0) gauge(x, "process_open_fds", "Number of open file descriptors.", p.open_fds);
  if (p.max_fds >= 0)
    gauge(x, "process_max_fds", "Maximum number of open file descriptors.", p.max_fds);
  if (p.start_time_seconds >= 0)
    gauge(x, "process_start_time_seconds",
          "Start time of the process since the Unix epoch in seconds.", p.start_time_seconds);
  return x.take();
}

}  // namespace agg::api
