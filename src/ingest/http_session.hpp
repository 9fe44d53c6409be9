#pragma once

#include "api/handler.hpp"
#include "ingest/decoding_body.hpp"
#include "ingest/queued_sink.hpp"
#include "ingest/server_context.hpp"
#include "ingest/tls_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace agg::ingest {

// What every connection's handlers run on: the io_context of the one I/O thread the listener
// gave it, which only that thread runs, so its handlers never run concurrently without a
// strand. Measured with wrk at 64 connections, server CPU per request, 2 I/O threads: with one
// shared io_context and a strand per connection, GET /health 25–31 µs and a rejected publish
// (422, no store) 27–30; with an io_context per thread, still with strands, 17–20 and 20–21;
// without the strands 15 and 16–17 (nginx's static 200: 13). A concrete executor, not
// any_io_executor: every async step copies it, and type-erased copies cost ~4% of a request.
using session_executor = boost::asio::io_context::executor_type;
// A connection's stream: plain TCP, or TLS over it when --tls-cert is given (the port is then
// TLS-only; nothing is detected). The sessions are templates on it, so the plain path has no
// TLS branch at all.
using plain_stream = boost::beast::basic_stream<boost::asio::ip::tcp, session_executor>;
using tls_stream = boost::beast::ssl_stream<plain_stream>;

// One HTTP/1.x connection: framing, timeouts, 100-continue, keep-alive and pipelining. What a
// request means is the handler's business. Requests are handled one at a time in arrival
// order, so pipelined requests are answered in order: the next one waits in the read buffer
// until the previous answer is written. A WebSocket upgrade the handler accepts moves the
// stream to a websocket_session; a stream answer turns the rest of the connection into a
// chunked body. Over TLS the session first does the handshake (with its own time limit) and
// closes with a close_notify. All members are touched only on the session's thread.
template <class Stream>
class basic_http_session : public std::enable_shared_from_this<basic_http_session<Stream>> {
 public:
  using executor_type = session_executor;
  using stream_type = Stream;
  using socket_type = plain_stream::socket_type;
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  // `tls`: the context the connection uses (held for its life); null for a plain stream.
  basic_http_session(socket_type socket, server_context& ctx,
                     tls_context::context_ptr tls = nullptr);
  ~basic_http_session();

  void run();
  // The service stops (posted to its thread): an idle connection is closed now unless a
  // request already sits in the socket (it still gets its answer); a busy one closes after
  // its answer; a stream ends cleanly; a TLS handshake is cut off. `force` (the grace period is
  // over): a stream or a request still arriving is cut off; an admitted request still gets its
  // answer.
  void shutdown(bool force);

  // For the chunked stream (its thread only): writes one chunk / the end of the body.
  void write_chunks(const std::vector<api::stream_sink::message>& ms,
                    queued_sink::write_handler done);
  void write_last_chunk(queued_sink::write_handler done);
  void stream_finished();

 private:
  using request_parser = boost::beast::http::request_parser<decoding_body>;

  static Stream make_stream(socket_type socket, const tls_context::context_ptr& tls);
  void start();  // its thread: after the TLS handshake, if any
  void on_handshake(boost::system::error_code ec);
  void do_read();
  void on_read_header(boost::system::error_code ec, std::size_t);
  void on_write_continue(boost::system::error_code ec, std::size_t);
  void on_read(boost::system::error_code ec, std::size_t);
  void on_read_error(boost::system::error_code ec);
  api::request_head head() const;
  void handle();
  void on_answer(api::answer a);
  void send(api::reply r);
  void on_write(bool keep_alive, boost::system::error_code ec, std::size_t);
  void start_stream(api::stream_reply s);
  void on_stream_head(boost::system::error_code ec, std::size_t);
  void watch_peer();
  void on_peer_read(boost::system::error_code ec, std::size_t);
  void upgrade(api::stream_reply s);
  bool request_waiting();
  void linger_close();
  void linger_drain();
  template <class Handler>
  void send_close_notify(Handler&& done);  // TLS only
  void on_linger_read(boost::system::error_code ec, std::size_t);
  void close();
  void request_read();
  void record_answer(boost::beast::http::status status, bool overloaded);
  plain_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }

  tls_context::context_ptr tls_;  // the TLS settings stream_ was made with (null: plain)
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  server_context& ctx_;
  std::optional<request_parser> parser_;
  std::optional<api::reply> early_;  // decided from the head; the body is read and dropped
  // The current request's head as check_head saw it: its body format and, under --auth on,
  // who sent it; handed on to the handler with the body.
  api::request_head request_;
  std::string out_;                       // the answer being written, serialised by serialize_reply
  std::vector<std::string> chunk_heads_;  // the size lines of the chunks being written
  std::vector<boost::asio::const_buffer> iov_;  // the gathered write of those chunks
  char peer_byte_[512];                         // what a client sends during a stream (ignored)
  std::shared_ptr<queued_sink> sink_;           // while the connection carries a stream
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>,
                                    executor_type>
      idle_close_timer_;       // after a stop: closes a connection that turned out idle
  bool handshaking_ = false;   // the TLS handshake is under way
  bool peer_reading_ = false;  // watch_peer's read is pending
  bool reading_ = false;       // waiting for (more of) a request
  bool closing_ = false;       // shutdown asked: close after the current answer
  bool head_ = false;          // current request is HEAD: answer without a body
  bool request_keep_alive_ = true;
  // The current request's route and when its last byte was read: agg_requests_total and
  // agg_request_duration_seconds.
  metrics::route route_ = metrics::route::other;
  std::chrono::steady_clock::time_point read_done_;
};

using http_session = basic_http_session<plain_stream>;
using https_session = basic_http_session<tls_stream>;
extern template class basic_http_session<plain_stream>;
extern template class basic_http_session<tls_stream>;

}  // namespace agg::ingest
