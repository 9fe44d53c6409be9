#include "api/responses.hpp"

#include "core/json_text.hpp"

#include <cstdio>

namespace agg::api {
namespace {

namespace http = boost::beast::http;

http::status status_of(errc e) {
  switch (e) {
    case errc::invalid_json:
    case errc::bad_query:
    case errc::bad_request:
      return http::status::bad_request;
    case errc::too_large:
      return http::status::payload_too_large;
    case errc::unsupported_media_type:
      return http::status::unsupported_media_type;
    case errc::validation_failed:
      return http::status::unprocessable_entity;
    case errc::overloaded:
    case errc::unavailable:
    case errc::shutting_down:
      return http::status::service_unavailable;
    case errc::method_not_allowed:
      return http::status::method_not_allowed;
    case errc::not_found:
      return http::status::not_found;
    case errc::header_too_large:
      return http::status::request_header_fields_too_large;
    case errc::unauthorized:
      return http::status::unauthorized;
    case errc::forbidden:
      return http::status::forbidden;
    case errc::ok:
      break;
  }
  return http::status::internal_server_error;
}

// [{"index", "field", "message"[, "line"]}, ...]
void append_details(std::string& b, const field_error* first, const field_error* last) {
  b.push_back('[');
  for (const auto* d = first; d != last; ++d) {
    if (d != first) b.push_back(',');
    b += "{\"index\":";
    append_number(b, d->index);
    if (d->line) {
      b += ",\"line\":";
      append_number(b, d->line);
    }
    b += ",\"field\":";
    append_json_string(b, d->field);
    b += ",\"message\":";
    append_json_string(b, d->message);
    b.push_back('}');
  }
  b.push_back(']');
}

void append_result(std::string& b, const event& e, const event_result& r) {
  b += "{\"topic\":";
  append_json_string(b, e.topic);
  b += ",\"event_id\":";
  append_json_string(b, e.event_id);
  b += ",\"status\":\"";
  b += to_string(r.status);
  b += "\",\"seq\":";
  append_number(b, r.seq);
  b.push_back('}');
}

// {"received", "accepted", "duplicates"[, "invalid"], "results": [ — the head of a 200.
void append_counts(std::string& b, const std::vector<event_result>& results,
                   const std::size_t* invalid) {
  std::size_t accepted = 0;
  for (const auto& r : results) accepted += r.status == event_status::accepted;
  b += "{\"received\":";
  append_number(b, results.size());
  b += ",\"accepted\":";
  append_number(b, accepted);
  b += ",\"duplicates\":";
  append_number(b, results.size() - accepted);
  if (invalid) {
    b += ",\"invalid\":";
    append_number(b, *invalid);
  }
  b += ",\"results\":[";
}

}  // namespace

reply error_reply(errc code, std::string_view message, const std::vector<field_error>& details) {
  reply r;
  r.status = status_of(code);
  if (code == errc::overloaded) r.retry_after = 1;  // the queue drains within milliseconds
  if (code == errc::shutting_down) r.close = true;
  std::string& b = r.body;
  b = "{\"error\":";
  append_json_string(b, to_string(code));
  b += ",\"message\":";
  append_json_string(b, message);
  b += ",\"details\":";
  append_details(b, details.data(), details.data() + details.size());
  b += "}";
  return r;
}

std::string publish_body(const std::vector<event>& events,
                         const std::vector<event_result>& results) {
  std::string b;
  b.reserve(64 + results.size() * 96);
  append_counts(b, results, nullptr);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i) b.push_back(',');
    append_result(b, events[i], results[i]);
  }
  b += "]}";
  return b;
}

std::string publish_body(const std::vector<event>& events, const std::vector<event_result>& results,
                         const left_out& invalid) {
  std::string b;
  b.reserve(64 + invalid.count * 96);
  const std::size_t n_invalid = invalid.count - results.size();
  append_counts(b, results, &n_invalid);
  // Merge the kept events (at their positions) and the invalid ones (details grouped by
  // index, both in request order) back into request order.
  std::size_t kept = 0;
  const field_error* d = invalid.details.data();
  const field_error* const d_end = d + invalid.details.size();
  for (std::size_t i = 0; i < invalid.count; ++i) {
    if (i) b.push_back(',');
    if (kept < results.size() && invalid.positions[kept] == i) {
      append_result(b, events[kept], results[kept]);
      ++kept;
      continue;
    }
    const field_error* first = d;
    while (d != d_end && d->index == i) ++d;
    b += "{\"index\":";
    append_number(b, i);
    if (first != d && first->line) {
      b += ",\"line\":";
      append_number(b, first->line);
    }
    b += ",\"status\":\"invalid\",\"details\":";
    append_details(b, first, d);
    b.push_back('}');
  }
  b += "]}";
  return b;
}

void append_event_json(std::string& b, const store::stored_event& e) {
  b += "{\"seq\":";
  append_number(b, e.seq);
  b += ",\"topic\":";
  append_json_string(b, e.topic);
  b += ",\"event_id\":";
  append_json_string(b, e.event_id);
  b += ",\"timestamp\":";
  append_json_string(b, e.timestamp);
  b += ",\"source\":";
  append_json_string(b, e.source);
  b += ",\"payload\":";
  b += e.payload;  // stored as compact JSON text
  b += ",\"received_at\":";
  append_json_string(b, e.received_at);
  b.push_back('}');
}

std::string events_body(const std::vector<store::stored_event>& rows) {
  std::string b;
  std::size_t bytes = 64;
  for (const auto& e : rows) bytes += 128 + e.payload.size() + e.topic.size() + e.event_id.size();
  b.reserve(bytes);
  b = "{\"count\":";
  append_number(b, rows.size());
  b += ",\"next_after\":";
  if (rows.empty())
    b += "null";
  else
    append_number(b, rows.back().seq);
  b += ",\"events\":[";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) b.push_back(',');
    append_event_json(b, rows[i]);
  }
  b += "]}";
  return b;
}

reply page_reply(boost::system::error_code ec, const std::vector<store::stored_event>& rows) {
  if (ec) return error_reply(errc::unavailable, "cannot read events: " + ec.message());
  reply ok;
  ok.body = events_body(rows);
  return ok;
}

std::string stats_body(const stats_snapshot& s, double uptime_seconds,
                       std::string_view started_at) {
  const auto& t = s.totals;
  std::string b = "{\"received\":";
  append_number(b, t.received);
  b += ",\"unique_processed\":";
  append_number(b, t.unique_processed);
  b += ",\"duplicate_dropped\":";
  append_number(b, t.duplicate_dropped);
  b += ",\"conflicts\":";
  append_number(b, t.conflicts);
  b += ",\"topics\":[";
  for (std::size_t i = 0; i < s.topic_counts.size(); ++i) {
    if (i) b.push_back(',');
    append_json_string(b, s.topic_counts[i].first);
  }
  b += "],\"topic_counts\":{";
  for (std::size_t i = 0; i < s.topic_counts.size(); ++i) {
    if (i) b.push_back(',');
    append_json_string(b, s.topic_counts[i].first);
    b.push_back(':');
    append_number(b, s.topic_counts[i].second);
  }
  char up[32];
  std::snprintf(up, sizeof up, "%.3f", uptime_seconds);
  b += "},\"uptime\":";
  b += up;
  b += ",\"started_at\":";
  append_json_string(b, started_at);
  b += ",\"queue\":{\"depth\":";
  append_number(b, s.queue_depth);
  b += ",\"capacity\":";
  append_number(b, s.queue_capacity);
  b += "},\"subscribers\":";
  append_number(b, s.subscribers);
  b += ",\"rejected\":{\"invalid\":";
  append_number(b, t.rejected_invalid);
  b += ",\"overloaded\":";
  append_number(b, t.rejected_overloaded);
  b += "}}";
  return b;
}

}  // namespace agg::api
