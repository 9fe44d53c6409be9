#pragma once

#include <string>
#include <string_view>

namespace agg::api {

// A component of a later layer whose state /health, /stats and /metrics report (the RabbitMQ
// bridge): it registers with the service (service::attach), and the service asks it at each
// answer, so nothing here knows the component. Called from the I/O threads: cheap, no I/O.
class status_part {
 public:
  virtual ~status_part() = default;
  // The key of its object in /health and /stats, e.g. "bridge".
  virtual std::string_view name() const = 0;
  // A JSON object for /health; it never turns /health into a 503.
  virtual std::string health_json() const = 0;
  // A JSON object for /stats.
  virtual std::string stats_json() const = 0;
  // Whole metric families (HELP, TYPE and samples) in the text exposition format 0.0.4.
  virtual std::string metrics_text() const = 0;
};

}  // namespace agg::api
