// /health, keep-alive and pipelining on one socket.
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <cstdio>
#include <string>

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

BOOST_AUTO_TEST_SUITE_END()
