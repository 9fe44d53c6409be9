// /health, keep-alive and pipelining on one socket; HEAD, HTTP/1.0 and
// `Expect: 100-continue` as they come over the wire.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace agg::test;

namespace {

std::string get_request(std::string const& target, std::string const& host) {
  return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

std::string post_request(std::string const& target, std::string const& host,
                         std::string const& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: " + host +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// One answer as the server wrote it: the status line verbatim, the fields in order, the body.
struct wire_answer {
  std::string status_line;  // "HTTP/1.1 200 OK"
  http_response response;   // status, headers and body (for check_error / check_publish)
};

// The value of the answer's field `name`, or "<absent>" (printable in BOOST_TEST).
std::string field(wire_answer const& a, std::string_view name) {
  return a.response.header(name).value_or("<absent>");
}

// Splits `bytes` (everything the server sent on one connection) into answers, strictly:
// answer i has no body when bodyless[i] (a HEAD answer or a 1xx), else exactly
// Content-Length bytes, and nothing may follow the last answer. Throws std::runtime_error
// saying where the bytes do not frame that way.
std::vector<wire_answer> split_answers(std::string_view bytes, std::vector<bool> const& bodyless) {
  auto fail = [&](std::size_t i, std::string const& what) {
    throw std::runtime_error("answer " + std::to_string(i) + ": " + what + "; bytes:\n" +
                             std::string(bytes.substr(0, 2000)));
  };
  std::vector<wire_answer> out;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < bodyless.size(); ++i) {
    auto const end = bytes.find("\r\n\r\n", pos);
    if (end == std::string_view::npos) fail(i, "no complete head");
    std::string_view head = bytes.substr(pos, end - pos);
    pos = end + 4;
    wire_answer a;
    auto const eol = head.find("\r\n");
    a.status_line = std::string(head.substr(0, eol));
    if (a.status_line.size() < 12 || a.status_line.compare(0, 5, "HTTP/") != 0)
      fail(i, "bad status line '" + a.status_line + "'");
    a.response.status = static_cast<unsigned>(std::stoul(a.status_line.substr(9, 3)));
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!head.empty()) {
      auto const line_end = head.find("\r\n");
      auto const line = head.substr(0, line_end);
      auto const colon = line.find(':');
      if (colon == std::string_view::npos) fail(i, "bad field '" + std::string(line) + "'");
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      a.response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
    }
    if (!bodyless[i]) {
      auto const length = a.response.header("Content-Length");
      if (!length) fail(i, "no Content-Length");
      auto const n = static_cast<std::size_t>(std::stoul(*length));
      if (bytes.size() - pos < n) fail(i, "body shorter than Content-Length");
      a.response.body = std::string(bytes.substr(pos, n));
      pos += n;
    }
    out.push_back(std::move(a));
  }
  if (pos != bytes.size())
    fail(bodyless.size(), std::to_string(bytes.size() - pos) + " bytes after the last answer");
  return out;
}

// Sends `requests` in one write and reads until the server closes the connection (the last
// request must make it close), then splits what came back (see split_answers).
std::vector<wire_answer> exchange(server_process const& srv, std::string const& requests,
                                  std::vector<bool> const& bodyless) {
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();
  conn.send(requests);
  std::string bytes;
  if (auto ec = conn.read_until_close(bytes))
    throw std::runtime_error("the server did not close the connection: " + ec.message() +
                             "; read so far:\n" + bytes.substr(0, 2000));
  return split_answers(bytes, bodyless);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(health)

BOOST_AUTO_TEST_CASE(health_is_ok) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto r = c.get("/health");
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(is_json_content_type(r));
  BOOST_TEST((r.json() == parse_json(R"({"status":"ok"})")), r.body);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(connection)

BOOST_AUTO_TEST_CASE(keep_alive_reuses_one_connection) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  BOOST_TEST(c.get("/health").status == 200u);
  auto const port = c.local_port();
  check_publish(c.post_json("/publish", single_body(make_event("ka", "1"))), 1, 1, 0,
                {{"ka", "1", "accepted"}});
  check_publish(c.post_json("/publish", single_body(make_event("ka", "1"))), 1, 0, 1,
                {{"ka", "1", "duplicate"}});
  BOOST_TEST(c.get("/events").status == 200u);
  BOOST_TEST(c.get("/stats").status == 200u);
  BOOST_TEST(c.post_json("/publish", "garbage").status ==
             400u);  // an error keeps the connection too
  BOOST_TEST(c.get("/health").status == 200u);
  BOOST_TEST(c.connection_count() == 1u);
  BOOST_TEST(c.local_port() == port);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();

  // Two GETs in one write.
  conn.send(get_request("/health", host) + get_request("/stats", host));
  auto r1 = conn.receive();
  auto r2 = conn.receive();
  BOOST_TEST(r1.status == 200u);
  BOOST_TEST((r1.json() == parse_json(R"({"status":"ok"})")), r1.body);
  BOOST_TEST(r2.status == 200u);
  BOOST_TEST(as_object(r2.json()).contains("unique_processed"), r2.body);

  // A publish, its duplicate, then reads: each answer reflects the ones before it.
  std::string const ev = single_body(make_event("pipe", "p1"));
  conn.send(post_request("/publish", host, ev) + post_request("/publish", host, ev) +
            get_request("/events?topic=pipe", host) + get_request("/stats", host));
  auto a = conn.receive();
  auto b = conn.receive();
  auto e = conn.receive();
  auto s = conn.receive();
  auto seq = check_publish(a, 1, 1, 0, {{"pipe", "p1", "accepted"}});
  auto seq2 = check_publish(b, 1, 0, 1, {{"pipe", "p1", "duplicate"}});
  BOOST_TEST(seq2 == seq);
  BOOST_TEST_REQUIRE(e.status == 200u);
  BOOST_TEST(as_int(at(as_object(e.json()), "count")) == 1);
  check_stats(as_object(s.json()), {2, 1, 1, 0, {{"pipe", 1}}});
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();
  conn.send("GET /health HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  auto r = conn.receive();
  BOOST_TEST(r.status == 200u);
  std::string rest;
  BOOST_TEST(!conn.read_until_close(rest), "server closes the connection");
  BOOST_TEST(rest.empty());
}

// Publishers that stream their body send it chunked (no Content-Length).
BOOST_AUTO_TEST_CASE(chunked_body_is_accepted) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  std::string const body = array_body({make_event("chunk", "1"), make_event("chunk", "2")});
  std::string const half1 = body.substr(0, body.size() / 2), half2 = body.substr(body.size() / 2);
  auto hex = [](std::size_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return std::string(buf);
  };
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();
  conn.send("POST /publish HTTP/1.1\r\nHost: " + host +
            "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
            hex(half1.size()) + "\r\n" + half1 + "\r\n" + hex(half2.size()) + "\r\n" + half2 +
            "\r\n0\r\n\r\n");
  check_publish(conn.receive(), 2, 2, 0, {{"chunk", "1", "accepted"}, {"chunk", "2", "accepted"}});
}

BOOST_AUTO_TEST_CASE(chunked_body_over_max_body_is_413) {
  server_process srv({.args = {"--max-body", "1000"}});
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  std::string const chunk(600, ' ');  // whitespace: valid JSON padding, 3 x 600 > 1000
  std::string req = "POST /publish HTTP/1.1\r\nHost: " + host +
                    "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "258\r\n" + chunk + "\r\n";  // 0x258 == 600
  req += "1\r\n1\r\n0\r\n\r\n";
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();
  conn.send(req);
  check_error(conn.receive(), 413, "too_large");
  auto c = make_client(srv);
  BOOST_TEST(fetch_all_events(c).empty());
}

// HEAD is GET without the body: the same status line and fields (Content-Length is the
// GET body's length), for answers and errors alike, and not one body byte: the next
// pipelined answer starts right after the head.
BOOST_AUTO_TEST_CASE(head_is_the_get_answer_without_its_body) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  auto c = make_client(srv);
  check_publish(c.post_json("/publish", array_body({make_event("h", "1"), make_event("h", "2"),
                                                    make_event("other", "3")})),
                3, 3, 0,
                {{"h", "1", "accepted"}, {"h", "2", "accepted"}, {"other", "3", "accepted"}});
  struct probe {
    char const* target;
    char const* status_line;
  };
  for (auto const& p : {probe{"/health", "HTTP/1.1 200 OK"}, probe{"/events", "HTTP/1.1 200 OK"},
                        probe{"/events?topic=h&limit=1", "HTTP/1.1 200 OK"},
                        probe{"/events?limit=0", "HTTP/1.1 400 Bad Request"},
                        probe{"/nope", "HTTP/1.1 404 Not Found"},
                        probe{"/publish", "HTTP/1.1 405 Method Not Allowed"}}) {
    BOOST_TEST_CONTEXT("HEAD " << p.target) {
      auto const a =
          exchange(srv,
                   "HEAD " + std::string(p.target) + " HTTP/1.1\r\nHost: " + host + "\r\n\r\nGET " +
                       p.target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
                   {true, false});
      auto const& head = a[0];
      auto const& get = a[1];
      BOOST_TEST(head.status_line == p.status_line);
      BOOST_TEST(get.status_line == p.status_line);
      BOOST_TEST(field(head, "Content-Length") == std::to_string(get.response.body.size()));
      BOOST_TEST(field(head, "Content-Type") == "application/json");
      // The same fields as the GET's, which adds only Connection: close.
      header_list get_fields;
      for (auto const& f : get.response.headers)
        if (f.first != "Connection") get_fields.push_back(f);
      BOOST_TEST((head.response.headers == get_fields));
      BOOST_TEST(field(get, "Connection") == "close");
      if (get.response.status >= 400u) {
        char const* code = get.response.status == 400u   ? "bad_query"
                           : get.response.status == 404u ? "not_found"
                                                         : "method_not_allowed";
        check_error(get.response, get.response.status, code);
      }
      if (get.response.status == 405u) BOOST_TEST(field(head, "Allow") == "POST");
    }
  }
  // /stats carries a changing uptime, so only the shape is compared.
  auto const a = exchange(
      srv, "HEAD /stats HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n", {true});
  BOOST_TEST(a[0].status_line == "HTTP/1.1 200 OK");
  BOOST_TEST(field(a[0], "Connection") == "close");
  auto const length = a[0].response.header("Content-Length");
  BOOST_TEST_REQUIRE(length.has_value());
  BOOST_TEST(std::stoul(*length) > 100u, "Content-Length: " << *length);
}

// An HTTP/1.0 request is answered in HTTP/1.0, and the connection is closed after the
// answer (with Connection: close) unless the request asked for keep-alive, which the answer
// then confirms with Connection: keep-alive.
BOOST_AUTO_TEST_CASE(http10_is_answered_in_http10_and_closed_unless_keep_alive) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const ok_body = R"({"status":"ok"})";

  auto a = exchange(srv, "GET /health HTTP/1.0\r\n\r\n", {false});
  BOOST_TEST(a[0].status_line == "HTTP/1.0 200 OK");
  BOOST_TEST(field(a[0], "Connection") == "close");
  BOOST_TEST(a[0].response.body == ok_body);

  // Keep-alive asked: the connection stays open for the next request, which does not ask.
  a = exchange(srv,
               "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
               "GET /events HTTP/1.0\r\n\r\n",
               {false, false});
  BOOST_TEST(a[0].status_line == "HTTP/1.0 200 OK");
  BOOST_TEST(field(a[0], "Connection") == "keep-alive");
  BOOST_TEST(a[0].response.body == ok_body);
  BOOST_TEST(a[1].status_line == "HTTP/1.0 200 OK");
  BOOST_TEST(field(a[1], "Connection") == "close");
  BOOST_TEST((a[1].response.json() == parse_json(R"({"count":0,"events":[],"next_after":null})")),
             a[1].response.body);

  std::string const body = single_body(make_event("ten", "1"));
  a = exchange(srv,
               "POST /publish HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body,
               {false});
  BOOST_TEST(a[0].status_line == "HTTP/1.0 200 OK");
  BOOST_TEST(field(a[0], "Connection") == "close");
  check_publish(a[0].response, 1, 1, 0, {{"ten", "1", "accepted"}});

  a = exchange(srv, "HEAD /health HTTP/1.0\r\n\r\n", {true});
  BOOST_TEST(a[0].status_line == "HTTP/1.0 200 OK");
  BOOST_TEST(field(a[0], "Content-Length") == std::to_string(ok_body.size()));
  BOOST_TEST(field(a[0], "Connection") == "close");

  a = exchange(srv, "GET /nope HTTP/1.0\r\n\r\n", {false});
  BOOST_TEST(a[0].status_line == "HTTP/1.0 404 Not Found");
  BOOST_TEST(field(a[0], "Connection") == "close");
  check_error(a[0].response, 404, "not_found");
}

// Expect: 100-continue: the interim `HTTP/1.1 100 Continue` (no fields) comes as soon as the
// head is read, before any body byte is sent; the final answer follows the body.
BOOST_AUTO_TEST_CASE(expect_100_continue_gets_the_interim_answer_then_the_final_one) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  std::string const body = single_body(make_event("expect", "1"));
  std::string const head = "POST /publish HTTP/1.1\r\nHost: " + host +
                           "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                           "Content-Length: " +
                           std::to_string(body.size()) + "\r\n";

  // A client that waits for the 100 before it sends the body.
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();
  conn.send(head + "\r\n");
  auto const interim = conn.receive();
  BOOST_TEST(interim.status == 100u);
  BOOST_TEST(interim.headers.empty());
  BOOST_TEST(interim.body.empty());
  conn.send(body);
  auto const final_answer = conn.receive();
  check_publish(final_answer, 1, 1, 0, {{"expect", "1", "accepted"}});
  BOOST_TEST(final_answer.keep_alive);

  // The bytes exactly, for a client that sends the body at once (the 100 still comes first).
  auto const a = exchange(srv, head + "Connection: close\r\n\r\n" + body, {true, false});
  BOOST_TEST(a[0].status_line == "HTTP/1.1 100 Continue");
  BOOST_TEST(a[0].response.headers.empty());
  BOOST_TEST(a[1].status_line == "HTTP/1.1 200 OK");
  check_publish(a[1].response, 1, 0, 1, {{"expect", "1", "duplicate"}});
}

// A Content-Length over --max-body is refused from the head alone: 413 too_large is the only
// answer (no 100 Continue, so the client never sends the body) and the connection is closed.
BOOST_AUTO_TEST_CASE(expect_100_continue_over_max_body_is_413_without_the_100) {
  server_process srv({.args = {"--max-body", "1000"}});
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  auto const a = exchange(srv,
                          "POST /publish HTTP/1.1\r\nHost: " + host +
                              "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                              "Content-Length: 5000\r\n\r\n",
                          {false});
  BOOST_TEST(a[0].status_line == "HTTP/1.1 413 Payload Too Large");
  BOOST_TEST(field(a[0], "Connection") == "close");
  check_error(a[0].response, 413, "too_large");
  auto c = make_client(srv);
  BOOST_TEST(fetch_all_events(c).empty());
}

// Every other refusal is decided after the body today (the service checks the media type,
// method and path only once the whole request is read): the 100 comes first, then the final
// 4xx after the body, and the connection stays open for the next request.
// A request refused from its head alone (media type, method, path) gets its final answer at
// once, without 100 Continue, and the connection closes: the client never sent the body, so
// nothing of it can be mistaken for the next request.
BOOST_AUTO_TEST_CASE(expect_100_continue_refusals_from_the_head_come_at_once_and_close) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  std::string const body = single_body(make_event("expect", "1"));
  struct probe {
    char const* request_line;
    char const* content_type;
    unsigned status;
    char const* code;
  };
  for (auto const& p : {probe{"POST /publish", "text/plain", 415, "unsupported_media_type"},
                        probe{"PUT /publish", "application/json", 405, "method_not_allowed"},
                        probe{"POST /nope", "application/json", 404, "not_found"}}) {
    BOOST_TEST_CONTEXT(p.request_line << ", Content-Type: " << p.content_type) {
      raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
      conn.open();
      conn.send(std::string(p.request_line) + " HTTP/1.1\r\nHost: " + host +
                "\r\nContent-Type: " + p.content_type +
                "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n");
      auto const final_answer = conn.receive();
      check_error(final_answer, p.status, p.code);
      BOOST_TEST(!final_answer.keep_alive);
      BOOST_TEST(final_answer.header("Connection").value_or("") == "close");
      std::string rest;
      BOOST_TEST(!conn.read_until_close(rest));
      BOOST_TEST(rest.empty());
    }
  }
  auto c = make_client(srv);
  BOOST_TEST(fetch_all_events(c).empty());
}

// The same refusals without Expect: the body was sent, so it is read and dropped and the
// connection stays usable.
BOOST_AUTO_TEST_CASE(refusals_from_the_head_read_and_drop_a_sent_body) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const host = srv.host() + ":" + std::to_string(srv.port());
  std::string const body = single_body(make_event("nobody", "1"));
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();
  conn.send("POST /publish HTTP/1.1\r\nHost: " + host +
            "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body + "GET /health HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  auto const refused = conn.receive();
  check_error(refused, 415, "unsupported_media_type");
  BOOST_TEST(refused.keep_alive);
  BOOST_TEST(conn.receive().status == 200u);
  auto c = make_client(srv);
  BOOST_TEST(fetch_all_events(c).empty());
}

// HTTP/1.0 has no 100 Continue (RFC 9110 10.1.1: the expectation is ignored): the body is
// read and the final answer is the only one.
BOOST_AUTO_TEST_CASE(expect_100_continue_is_ignored_for_http_1_0) {
  server_process srv;
  log_on_failure guard(srv);
  std::string const body = single_body(make_event("expect10", "1"));
  raw_connection conn(srv.host(), srv.port(), std::chrono::seconds(10));
  conn.open();
  conn.send(
      "POST /publish HTTP/1.0\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  std::string all;
  BOOST_TEST(!conn.read_until_close(all));
  BOOST_TEST(all.rfind("HTTP/1.0 200 OK\r\n", 0) == 0u, all);
  BOOST_TEST(all.find("100 Continue") == std::string::npos, all);
}

BOOST_AUTO_TEST_SUITE_END()
