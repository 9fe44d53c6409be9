#include "consumer/duplicate_log.hpp"

namespace agg::consumer {

void append_duplicate_lines(const std::vector<std::shared_ptr<publish_job>>& jobs, bool duplicates,
                            bool conflicts, std::string& out) {
  if (!duplicates && !conflicts) return;
  for (const auto& job : jobs)
    for (std::size_t i = 0; i < job->results.size(); ++i) {
      const event_result& r = job->results[i];
      if (r.status == event_status::accepted) continue;
      const bool conflict = r.status == event_status::conflict;
      if (!(conflict ? conflicts : duplicates)) continue;
      const event& e = job->events[i];
      out += "duplicate";
      logger::append_field(out, "topic", e.topic);
      logger::append_field(out, "event_id", e.event_id);
      logger::append_field(out, "seq", std::to_string(r.seq));
      out += conflict ? " conflict=true level=warn\n" : "\n";
    }
}

}  // namespace agg::consumer
