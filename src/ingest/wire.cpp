#include "ingest/wire.hpp"

#include "core/json_text.hpp"

#include <boost/beast/http/status.hpp>

namespace agg::ingest {
namespace {

namespace bhttp = boost::beast::http;

void status_line(std::string& out, bhttp::status s, unsigned version) {
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, static_cast<unsigned>(s));
  out.push_back(' ');
  out += bhttp::obsolete_reason(s);
  out += "\r\nServer: event-aggregator\r\n";
}

void extra_headers(std::string& out, const std::vector<std::pair<std::string, std::string>>& hs) {
  for (const auto& [name, value] : hs) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
}

void connection_header(std::string& out, unsigned version, bool keep_alive) {
  if (!keep_alive)
    out += "Connection: close\r\n";
  else if (version == 10)
    out += "Connection: keep-alive\r\n";
}

}  // namespace

std::string serialize_reply(const api::reply& r, unsigned version, bool keep_alive, bool head) {
  std::string out;
  out.reserve(160 + (head ? 0 : r.body.size()));
  status_line(out, r.status, version);
  out += "Content-Type: ";
  out += r.content_type;
  out += "\r\n";
  // A 304 has no body, and its Content-Length would have to be the 200's (RFC 9110 8.6).
  if (r.status != bhttp::status::not_modified) {
    out += "Content-Length: ";
    append_number(out, r.body.size());
    out += "\r\n";
  }
  if (!r.allow.empty()) out += "Allow: " + r.allow + "\r\n";
  if (r.retry_after > 0) {
    out += "Retry-After: ";
    append_number(out, static_cast<unsigned>(r.retry_after));
    out += "\r\n";
  }
  extra_headers(out, r.headers);
  connection_header(out, version, keep_alive);
  out += "\r\n";
  if (!head) out += r.body;
  return out;
}

std::string serialize_stream_head(const api::stream_reply& r, unsigned version, bool keep_alive) {
  std::string out;
  status_line(out, r.status, version);
  out += "Content-Type: ";
  out += r.content_type;
  out += "\r\nCache-Control: no-cache\r\n";
  if (version != 10) out += "Transfer-Encoding: chunked\r\n";
  extra_headers(out, r.headers);
  connection_header(out, version, version != 10 && keep_alive);
  out += "\r\n";
  return out;
}

std::string chunk_prefix(std::size_t size) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, size, 16);
  std::string out(buf, r.ptr);
  out += "\r\n";
  return out;
}

}  // namespace agg::ingest
