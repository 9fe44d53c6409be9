// The HTTP/WebSocket transport against a handler of the test's own, over real sockets on
// 127.0.0.1: stream answers (chunked and WebSocket) with their back-pressure and clean end at
// shutdown, and answers decided from the head before the body is read.
#include "ingest/server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/dynamic_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <thread>

using namespace agg;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

// /ticks?n=N streams "tick 0\n" .. "tick N-1\n" then ends with "bye\n"; /big streams four
// 1 MiB messages and records the queued bytes right after sending them; /forever streams
// nothing until the server stops. POST /refuse is refused from its head (415).
class test_handler final : public api::handler {
 public:
  std::atomic<int> drained{0};
  std::atomic<int> closed{0};
  std::atomic<std::size_t> queued_after_big{0};
  std::atomic<int> answered_101{0};

  std::optional<api::reply> check_head(api::request_head& head) override {
    if (head.target == "/refuse") {
      auto r = api::error_reply(errc::unsupported_media_type, "refused from the head");
      return r;
    }
    return std::nullopt;
  }

  void handle(api::request req, std::function<void(api::answer)> done) override {
    api::stream_reply s;
    const std::string target(req.head.target);
    auto sink = std::make_shared<std::shared_ptr<api::stream_sink>>();
    s.on_closed = [this] { ++closed; };
    if (target == "/ticks") {
      s.on_open = [sink](std::shared_ptr<api::stream_sink> k) {
        *sink = k;
        for (int i = 0; i < 3; ++i)
          k->send(std::make_shared<const std::string>("tick " + std::to_string(i) + "\n"));
        k->end(std::make_shared<const std::string>("bye\n"));
      };
    } else if (target == "/big") {
      s.on_open = [this, sink](std::shared_ptr<api::stream_sink> k) {
        *sink = k;
        const auto mib = std::make_shared<const std::string>(1 << 20, 'x');
        for (int i = 0; i < 4; ++i) k->send(mib);  // one buffer shared by four messages
        queued_after_big = k->queued_bytes();
      };
      s.on_drained = [this, sink] {
        if (++drained == 1) (*sink)->end();
      };
    } else if (target == "/forever") {
      s.on_open = [sink](std::shared_ptr<api::stream_sink> k) { *sink = k; };
    } else {
      return done(api::error_reply(errc::not_found, "no such thing"));
    }
    done(std::move(s));
  }

  void answered(metrics::route, bhttp::status status, bool) noexcept override {
    if (status == bhttp::status::switching_protocols) ++answered_101;
  }
};

// A server with the test handler on 127.0.0.1, port 0, run on a thread of its own.
struct running_server {
  options opts;
  logger log{log_level::error};
  test_handler handler;
  std::unique_ptr<ingest::server> srv;
  std::thread thread;
  std::uint16_t port = 0;

  running_server() {
    opts.host = "127.0.0.1";
    opts.port = 0;
    opts.threads = 2;
    srv = std::make_unique<ingest::server>(opts, log);
    srv->listen(handler);
    port = srv->port();
    thread = std::thread([this] { srv->run(); });
  }
  ~running_server() { stop(); }
  void stop() {
    if (!thread.joinable()) return;
    srv->stop();
    thread.join();
  }
};

struct client {
  net::io_context ioc;
  tcp::socket socket{ioc};
  explicit client(std::uint16_t port) {
    socket.connect({net::ip::make_address("127.0.0.1"), port});
  }
  bhttp::response<bhttp::string_body> get(const std::string& target) {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(socket, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(64 << 20);
    bhttp::read(socket, buf, p);
    return p.release();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(transport_tests)

BOOST_AUTO_TEST_CASE(chunked_stream_carries_messages_then_ends) {
  running_server s;
  client c(s.port);
  const auto res = c.get("/ticks");
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(res[bhttp::field::content_type] == "application/x-ndjson");
  BOOST_TEST(res[bhttp::field::transfer_encoding] == "chunked");
  BOOST_TEST(res.body() == "tick 0\ntick 1\ntick 2\nbye\n");
  // A stream is the connection's last answer: the server closes after it.
  char byte;
  boost::system::error_code ec;
  net::read(c.socket, net::buffer(&byte, 1), ec);
  BOOST_TEST((ec == net::error::eof));
  s.stop();
  BOOST_TEST(s.handler.closed == 1);
}

BOOST_AUTO_TEST_CASE(queued_bytes_count_until_the_socket_takes_them) {
  running_server s;
  client c(s.port);
  const auto res = c.get("/big");
  BOOST_TEST(res.body().size() == 4u << 20);
  // Counted at once, before any write could finish: what the send budget looks at.
  BOOST_TEST(s.handler.queued_after_big == std::size_t{4} << 20);
  BOOST_TEST(s.handler.drained == 1);
}

BOOST_AUTO_TEST_CASE(websocket_stream_messages_then_normal_close) {
  running_server s;
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect({net::ip::make_address("127.0.0.1"), s.port});
  ws.handshake("127.0.0.1", "/ticks");
  std::vector<std::string> got;
  boost::system::error_code ec;
  for (;;) {
    beast::flat_buffer buf;
    ws.read(buf, ec);
    if (ec) break;
    got.push_back(beast::buffers_to_string(buf.data()));
  }
  BOOST_TEST((ec == websocket::error::closed));
  BOOST_TEST(ws.reason().code == websocket::close_code::normal);
  BOOST_TEST(got == (std::vector<std::string>{"tick 0\n", "tick 1\n", "tick 2\n", "bye\n"}),
             boost::test_tools::per_element());
  BOOST_TEST(s.handler.answered_101 == 1);  // counted once the handshake succeeded
}

BOOST_AUTO_TEST_CASE(stop_ends_open_streams_cleanly) {
  running_server s;
  client c(s.port);
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/forever", 11};
  bhttp::write(c.socket, req);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> p;
  bhttp::read_header(c.socket, buf, p);
  BOOST_TEST(p.get().result_int() == 200u);

  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect({net::ip::make_address("127.0.0.1"), s.port});
  ws.handshake("127.0.0.1", "/forever");

  auto stopped = std::async(std::launch::async, [&] { s.stop(); });
  bhttp::read(c.socket, buf, p);  // the chunked body ends: the response is complete
  BOOST_TEST(p.is_done());
  BOOST_TEST(p.get().body().empty());
  beast::flat_buffer wbuf;
  boost::system::error_code ec;
  ws.read(wbuf, ec);
  BOOST_TEST((ec == websocket::error::closed));
  BOOST_TEST(ws.reason().code == websocket::close_code::going_away);
  stopped.get();
  BOOST_TEST(s.handler.closed == 2);
}

BOOST_AUTO_TEST_CASE(answer_decided_from_the_head_skips_100_continue_and_the_body) {
  running_server s;
  client c(s.port);
  const std::string req =
      "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
      "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n";
  net::write(c.socket, net::buffer(req));
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(c.socket, buf, res);  // the final answer, with no 100 Continue before it
  BOOST_TEST(res.result_int() == 415u);
  BOOST_TEST(res[bhttp::field::connection] == "close");
  BOOST_TEST(
      res.body() ==
      R"({"error":"unsupported_media_type","message":"refused from the head","details":[]})");
}

BOOST_AUTO_TEST_CASE(answer_decided_from_the_head_reads_and_drops_a_sent_body) {
  running_server s;
  client c(s.port);
  const std::string body(5000, 'b');
  const std::string req = "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                          body + "GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n";
  net::write(c.socket, net::buffer(req));
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> refused;
  bhttp::read(c.socket, buf, refused);
  BOOST_TEST(refused.result_int() == 415u);
  BOOST_TEST(refused.keep_alive());  // the body was read, so the connection goes on
  bhttp::response<bhttp::string_body> next;
  bhttp::read(c.socket, buf, next);
  BOOST_TEST(next.body() == "tick 0\ntick 1\ntick 2\nbye\n");
}

BOOST_AUTO_TEST_SUITE_END()
