// Hostile HTTP: malformed requests, oversized headers, lying Content-Length, chunked bodies,
// slowloris, running out of descriptors, pipelining floods and nasty JSON. After each attack
// a well-behaved client must still be answered, and nothing invalid may be stored.
#define BOOST_TEST_DYN_LINK
#include "fault_support.hpp"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace agg::test;
using namespace agg::test::faults;
using namespace std::chrono_literals;

namespace {

std::string post(std::string_view target, std::string_view body,
                 std::string_view extra_headers = "Content-Type: application/json\r\n") {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

std::string get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

// A normal client is answered: /health 200.
void still_answers(const server_process& srv) {
  auto c = make_client(srv, 10s);
  http_response r;
  const auto ec = c.try_request(boost::beast::http::verb::get, "/health", {}, {}, r);
  BOOST_TEST(!ec, "GET /health after the attack: " << ec.message());
  BOOST_TEST(r.status == 200u);
}

void no_sanitizer_report(const server_process& srv) {
  BOOST_TEST(sanitizer_report(srv.all_logs()) == "");
}

std::int64_t stored_count(const server_process& srv) {
  auto c = make_client(srv);
  return as_int(at(get_stats(c), "unique_processed"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_http)

BOOST_AUTO_TEST_CASE(garbage_request_lines_get_400_and_close) {
  server_process srv;
  log_on_failure guard(srv);
  std::mt19937 rng(42);
  std::string random_bytes(2000, '\0');
  for (auto& ch : random_bytes) ch = static_cast<char>(rng() & 0xff);
  const std::vector<std::string> garbage{
      "HELLO THERE\r\n\r\n",
      std::string("\0\1\2\3\r\n\r\n", 8),
      "GET\r\n\r\n",
      "GET /health HTTP/9.9\r\n\r\n",
      "GET /health\r\n\r\n",
      "GET  /health HTTP/1.1\r\n\r\n",
      "GET /health HTTP/1.1\r\nno colon here\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n12345",
      "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /health HTTP/1.1\r\nHost: x\x01y\r\n\r\n",
      random_bytes,
  };
  for (const auto& g : garbage) {
    BOOST_TEST_CONTEXT("request " << to_text(json::string(g.substr(0, 60)))) {
      posix_conn conn;
      BOOST_TEST_REQUIRE(conn.connect(srv.port(), 10s));
      conn.send_all(g);
      conn.shutdown_write();
      bool timed_out = false;
      const std::string answer = conn.read_until_close(&timed_out);
      BOOST_TEST(!timed_out, "the connection is closed after a malformed request");
      // Either an error answer (400) and close, or a close without an answer; never a 200.
      const unsigned status = first_status(answer);
      BOOST_TEST((status == 400u || answer.empty()), "answer: " << answer.substr(0, 300));
      if (status == 400u) BOOST_TEST(answer.find("Connection: close") != std::string::npos);
    }
  }
  still_answers(srv);
  BOOST_TEST(stored_count(srv) == 0);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(huge_headers_get_431) {
  server_process srv;
  log_on_failure guard(srv);
  struct attack {
    std::string name;
    std::string bytes;
  };
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "X-Filler-" + std::to_string(i) + ": aaaaaaaaaa\r\n";
  const std::vector<attack> attacks{
      {"one 20 KiB header",
       "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"},
      {"2000 small headers", "GET /health HTTP/1.1\r\nHost: x\r\n" + many + "\r\n"},
      {"20 KiB target", "GET /events?topic=" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n"},
      {"1 MiB header, no end", "GET /health HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'b')},
  };
  for (const auto& a : attacks) {
    BOOST_TEST_CONTEXT(a.name) {
      posix_conn conn;
      BOOST_TEST_REQUIRE(conn.connect(srv.port(), 10s));
      conn.send_all(a.bytes);  // may fail midway once the server answered and closed
      bool timed_out = false;
      const std::string answer = conn.read_until_close(&timed_out);
      BOOST_TEST(!timed_out);
      BOOST_TEST(first_status(answer) == 431u, "answer: " << answer.substr(0, 300));
    }
  }
  // Exactly at the limit side: 15 KiB of headers is fine.
  auto c = make_client(srv);
  const auto r =
      c.request(boost::beast::http::verb::get, "/health", {}, {{"X-Big", std::string(15000, 'a')}});
  BOOST_TEST(r.status == 200u);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(body_shorter_than_content_length_is_not_stored) {
  server_process srv;
  log_on_failure guard(srv);
  const std::string body = single_body(make_event("short.body", "s1"));
  // Headers promise 100 bytes more than are sent; then the client half-closes.
  const std::string bytes =
      "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size() + 100) + "\r\n\r\n" + body;
  posix_conn conn;
  BOOST_TEST_REQUIRE(conn.connect(srv.port(), 10s));
  conn.send_all(bytes);
  conn.shutdown_write();
  bool timed_out = false;
  const std::string answer = conn.read_until_close(&timed_out);
  BOOST_TEST(!timed_out);
  BOOST_TEST(first_status(answer) != 200u, "answer: " << answer.substr(0, 300));
  still_answers(srv);
  BOOST_TEST(stored_count(srv) == 0);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(body_longer_than_content_length_is_the_next_request) {
  server_process srv;
  log_on_failure guard(srv);
  const std::string body = single_body(make_event("long.body", "l1"));
  // The valid event is exactly Content-Length bytes; what follows is a malformed second request.
  posix_conn conn;
  BOOST_TEST_REQUIRE(conn.connect(srv.port(), 10s));
  conn.send_all(post("/publish", body) + "{\"trailing\": \"garbage that is not HTTP\"}\r\n\r\n");
  conn.shutdown_write();
  bool timed_out = false;
  const std::string answer = conn.read_until_close(&timed_out);
  BOOST_TEST(!timed_out);
  BOOST_TEST(first_status(answer) == 200u, "answer: " << answer.substr(0, 400));
  const auto second = answer.find("HTTP/1.1 ", 5);
  BOOST_TEST_REQUIRE(second != std::string::npos, "a second answer: " << answer.substr(0, 600));
  BOOST_TEST(first_status(std::string_view(answer).substr(second)) == 400u);

  // A Content-Length shorter than the JSON: the truncated body is not JSON.
  posix_conn conn2;
  BOOST_TEST_REQUIRE(conn2.connect(srv.port(), 10s));
  conn2.send_all(
      "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 10\r\nConnection: close\r\n\r\n" +
      single_body(make_event("long.body", "l2")));
  conn2.shutdown_write();
  const std::string answer2 = conn2.read_until_close(&timed_out);
  BOOST_TEST(first_status(answer2) == 400u, "answer: " << answer2.substr(0, 300));
  BOOST_TEST(answer2.find("invalid_json") != std::string::npos);

  auto c = make_client(srv);
  const auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(as_string(at(events[0], "event_id")) == "l1");
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(chunked_body_is_accepted) {
  server_process srv;
  log_on_failure guard(srv);
  const std::string body = array_body({make_event("chunked", "c1"), make_event("chunked", "c2")});
  std::string chunked;
  for (std::size_t at = 0; at < body.size(); at += 17) {
    const auto part = body.substr(at, 17);
    char len[16];
    std::snprintf(len, sizeof len, "%zx", part.size());
    chunked += std::string(len) + "\r\n" + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  raw_connection conn(srv.host(), srv.port(), 10s);
  conn.open();
  conn.send(
      "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      chunked);
  const auto r = conn.receive();
  check_publish(r, 2, 2, 0, {{"chunked", "c1", "accepted"}, {"chunked", "c2", "accepted"}});
  BOOST_TEST(stored_count(srv) == 2);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(slowloris_does_not_starve_a_normal_client) {
  server_process srv;
  log_on_failure guard(srv);
  constexpr int trickling = 300;
  std::vector<posix_conn> conns(trickling);
  int opened = 0;
  for (auto& c : conns) opened += c.connect(srv.port(), 2s) ? 1 : 0;
  BOOST_TEST(opened == trickling);
  const std::string header = "POST /publish HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  auto normal = make_client(srv, 10s);
  std::chrono::microseconds worst{0};
  int answered = 0;
  // About 3 s: each round every slow client sends one more byte, then the normal client asks.
  for (int round = 0; round < 30; ++round) {
    for (auto& c : conns)
      if (c.is_open())
        c.send_all(
            std::string_view(header).substr(static_cast<std::size_t>(round) % header.size(), 1));
    const auto t0 = std::chrono::steady_clock::now();
    http_response r;
    const auto ec =
        normal.try_request(boost::beast::http::verb::post, "/publish",
                           single_body(make_event("slowloris", "n" + std::to_string(round))),
                           {{"Content-Type", "application/json"}}, r);
    worst = std::max(worst, std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - t0));
    if (!ec && r.status == 200) ++answered;
    std::this_thread::sleep_for(100ms);
  }
  std::cout << "slowloris: " << trickling << " trickling connections, normal client answered "
            << answered << "/30, worst latency " << static_cast<double>(worst.count()) / 1000.0
            << " ms\n";
  BOOST_TEST(answered == 30);
  conns.clear();
  BOOST_TEST(stored_count(srv) == 30);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(more_connections_than_descriptors) {
  server_process srv;
  log_on_failure guard(srv);
  // Lower the running server's descriptor limit (prlimit(2) on the child): it has its
  // database, the listener and a few pipes open, so 64 leaves room for ~50 connections.
  rlimit lim{64, 64};
  BOOST_TEST_REQUIRE(::prlimit(srv.pid(), RLIMIT_NOFILE, &lim, nullptr) == 0);
  std::vector<posix_conn> conns(200);
  int opened = 0;
  for (auto& c : conns) opened += c.connect(srv.port(), 2s) ? 1 : 0;
  // Make the accepted ones do a real request each, so descriptors are really in use.
  int answered = 0;
  for (auto& c : conns) {
    if (!c.is_open()) continue;
    if (!c.send_all(get("/health"))) continue;
  }
  for (auto& c : conns) {
    if (!c.is_open()) continue;
    char buf[12];
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 20) == 1 && ::recv(c.fd(), buf, sizeof buf, MSG_PEEK) > 0) ++answered;
  }
  std::cout << "fd limit 64: " << opened << "/200 connects succeeded, " << answered
            << " answered while all were open\n";
  BOOST_TEST(answered < 200, "the limit was in effect");
  conns.clear();  // close them all

  // Once they are closed the service answers again (it retries accept after EMFILE).
  bool ok = false;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!ok && std::chrono::steady_clock::now() < deadline) {
    auto c = make_client(srv, 2s);
    http_response r;
    ok = !c.try_request(boost::beast::http::verb::get, "/health", {}, {}, r) && r.status == 200;
    if (!ok) std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST(ok, "answers /health after the connections closed");
  BOOST_TEST(srv.running());
  auto c = make_client(srv);
  check_publish(c.post_json("/publish", single_body(make_event("fd", "after"))), 1, 1, 0,
                {{"fd", "after", "accepted"}});
  BOOST_TEST(srv.log().find("accept_failed") != std::string::npos,
             "the EMFILE accept failure is logged");
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(pipelining_flood_is_answered_in_order) {
  server_process srv;
  log_on_failure guard(srv);
  constexpr int n = 600;
  std::string flood;
  for (int i = 0; i < n; ++i) {
    if (i % 3 == 0)
      flood += post("/publish", single_body(make_event("flood", "f" + std::to_string(i))));
    else if (i % 3 == 1)
      flood += get("/health");
    else
      flood += get("/events?topic=flood&limit=1");
  }
  raw_connection conn(srv.host(), srv.port(), 20s);
  conn.open();
  conn.send(flood);  // one write of every request
  int in_order = 0;
  for (int i = 0; i < n; ++i) {
    http_response r;
    if (auto ec = conn.read_response(r)) {
      BOOST_TEST(false, "response " << i << ": " << ec.message());
      break;
    }
    bool ok = r.status == 200;
    if (ok && i % 3 == 0) {
      const auto doc = r.json();
      const auto& res = as_array(at(as_object(doc), "results"));
      ok = res.size() == 1 &&
           as_string(at(as_object(res[0]), "event_id")) == "f" + std::to_string(i);
    } else if (ok && i % 3 == 1) {
      ok = r.body.find("\"ok\"") != std::string::npos;
    } else if (ok) {
      ok = r.body.find("\"events\"") != std::string::npos;
    }
    if (ok)
      ++in_order;
    else if (in_order + 3 > i)
      BOOST_TEST_MESSAGE("response " << i << ": " << r.status << " " << r.body.substr(0, 300));
  }
  BOOST_TEST(in_order == n);
  BOOST_TEST(stored_count(srv) == n / 3);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(deeply_nested_json_is_400) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto with_payload = [](const std::string& payload) {
    return R"({"topic":"deep","event_id":"d","timestamp":"2026-11-24T10:15:00Z","source":"s","payload":)" +
           payload + "}";
  };
  check_error(c.post_json("/publish", with_payload(nested_object_text(257))), 400, "invalid_json");
  // 100,000 open brackets: refused without recursion trouble.
  check_error(c.post_json("/publish", std::string(100000, '[')), 400, "invalid_json");
  check_error(
      c.post_json("/publish", with_payload(std::string(50000, '[') + std::string(50000, ']'))), 400,
      "invalid_json");
  check_error(c.post_json("/publish", "[" + with_payload(nested_object_text(300)) + "]"), 400,
              "invalid_json");
  // 256 levels is the contract's limit and is stored.
  const auto r = c.post_json("/publish", with_payload(nested_object_text(256)));
  BOOST_TEST(r.status == 200u, r.body.substr(0, 300));
  const auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(depth_of(at(events[0], "payload")) == 256u);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_400) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  const std::string tail =
      R"(","event_id":"u","timestamp":"2026-11-24T10:15:00Z","source":"s","payload":{}})";
  for (const std::string bad :
       {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "caf\xc3", "\xe2\x82"}) {
    BOOST_TEST_CONTEXT("topic with " << bad.size() << " invalid bytes") {
      check_error(c.post_json("/publish", R"({"topic":")" + bad + tail), 400, "invalid_json");
    }
  }
  // Invalid UTF-8 inside the payload is just as invalid.
  check_error(
      c.post_json("/publish", R"({"topic":"t","event_id":"u","timestamp":"2026-11-24T10:15:00Z",)"
                              R"("source":"s","payload":{"k":"\xff"}})"),
      400, "invalid_json");
  // A lone surrogate escape is not a Unicode scalar value: not UTF-8 once unescaped.
  // Boost.JSON refuses it while parsing, so it is a body problem (400), not a field one (422).
  check_error(c.post_json("/publish", R"({"topic":"\ud800)" + tail), 400, "invalid_json");
  BOOST_TEST(stored_count(srv) == 0);
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_CASE(nul_in_strings) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  const std::string ts = R"("timestamp":"2026-11-24T10:15:00Z")";
  for (const std::string field : {"topic", "event_id", "source"}) {
    BOOST_TEST_CONTEXT("\\u0000 in " << field) {
      std::string body =
          R"({"topic":"nul","event_id":"n","source":"s",)" + ts + R"(,"payload":{}})";
      const auto at_field = body.find("\"" + field + "\":\"") + field.size() + 4;
      body.insert(at_field, "a\\u0000b");
      const auto err = check_error(c.post_json("/publish", body), 422, "validation_failed");
      const auto det = err.if_contains("details");
      BOOST_TEST_REQUIRE((det && det->is_array() && det->get_array().size() == 1u));
      BOOST_TEST(as_string(at(as_object(det->get_array()[0]), "field")) == field);
    }
  }
  // In the payload a NUL is ordinary data and comes back exactly (not truncated).
  const std::string body = R"({"topic":"nul","event_id":"p",)" + ts +
                           R"(,"source":"s","payload":{"k":"a\u0000b","\u0000":1}})";
  const auto r = c.post_json("/publish", body);
  BOOST_TEST_REQUIRE(r.status == 200u, r.body);
  const auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  const json::value want = parse_json(R"({"k":"a\u0000b","\u0000":1})");
  BOOST_TEST((at(events[0], "payload") == want), "payload " << to_text(at(events[0], "payload")));
  // And a resend is a duplicate, not a conflict (the stored payload hashes the same).
  check_publish(c.post_json("/publish", body), 1, 0, 1, {{"nul", "p", "duplicate"}});
  no_sanitizer_report(srv);
}

BOOST_AUTO_TEST_SUITE_END()
