#pragma once

// Driving pg_store through its interface in tests: one request's events, and its outcomes as
// one string an exact comparison can show whole.

#include "store/event_store.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace agg::test {

// One request's events on topic "t", keeping the strings the views point at (so it is neither
// copied nor moved). Content hash 7 for every event unless `hashes` says otherwise: the same
// key with another hash is a conflict.
struct request_events {
  std::vector<std::string> ids;
  std::vector<agg::event> events;
  std::vector<agg::event_result> results;

  explicit request_events(std::vector<std::string> keys, std::vector<std::uint64_t> hashes = {})
      : ids(std::move(keys)) {
    for (std::size_t i = 0; i < ids.size(); ++i)
      events.push_back({"t", ids[i], "2026-11-24T10:15:00Z", "s", "{}",
                        std::hash<std::string>{}(ids[i]), i < hashes.size() ? hashes[i] : 7});
  }
  request_events(const request_events&) = delete;
  request_events& operator=(const request_events&) = delete;
  agg::store::batch_entry entry() { return {events, &results}; }

  // "accepted@1 duplicate@1 conflict@2": each event's status and seq, in request order.
  std::string outcomes() const {
    std::string out;
    for (const auto& r : results) {
      if (!out.empty()) out += ' ';
      out += r.status == agg::event_status::accepted    ? "accepted@"
             : r.status == agg::event_status::duplicate ? "duplicate@"
                                                        : "conflict@";
      out += std::to_string(r.seq);
    }
    return out;
  }
};

}  // namespace agg::test
