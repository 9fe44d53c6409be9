#pragma once

#include "core/metrics.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace agg::metrics {

struct label {
  std::string_view name;
  std::string_view value;
};

// Pure writer of the Prometheus text exposition format 0.0.4: no I/O, no global state, so a
// unit test checks its exact output. Each family is written as `family()` followed by all its
// samples, as the format requires (one HELP/TYPE per name, its samples together).
class exposition {
 public:
  // `type`: counter, gauge or histogram.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value);
  void sample(std::string_view name, std::initializer_list<label> labels, std::int64_t value);
  void sample(std::string_view name, std::initializer_list<label> labels, double value);
  // `name`_bucket (cumulative, le="+Inf" last), `name`_sum and `name`_count; _count equals
  // the +Inf bucket. Bounds and sum are divided by h.unit into the exposed unit.
  void histogram(std::string_view name, std::initializer_list<label> labels,
                 const histogram_data& h);

  const std::string& text() const noexcept { return out_; }
  std::string take() noexcept { return std::move(out_); }

  // Label values escape backslash, double quote and line feed; HELP text backslash and line
  // feed (the format's rules).
  static void append_label_value(std::string& out, std::string_view v);
  static void append_help(std::string& out, std::string_view v);
  // Shortest text that reads back as the same double; NaN, +Inf and -Inf as the format spells
  // them.
  static void append_double(std::string& out, double v);

 private:
  void series(std::string_view name, std::string_view suffix, std::initializer_list<label> labels,
              const label* extra);

  std::string out_;
};

}  // namespace agg::metrics
