#pragma once

#include "api/responses.hpp"
#include "consumer/consumer.hpp"
#include "ingest/server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <optional>

namespace agg::ingest {

// One HTTP/1.1 connection. Requests are handled one at a time in arrival order, so pipelined
// requests are answered in order: the next one waits in the read buffer until the previous
// answer is written. All members are touched only on the session's strand.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  // A concrete strand executor, not any_io_executor: every async step copies the executor,
  // and the type-erased copies cost ~4% of a single-event request (perf, 64 connections).
  using executor_type = boost::asio::strand<boost::asio::io_context::executor_type>;
  using stream_type = boost::beast::basic_stream<boost::asio::ip::tcp, executor_type>;

  http_session(stream_type::socket_type socket, server_context& ctx);
  ~http_session();

  void run();
  // Called on shutdown (posted to the strand): an idle connection is closed now, a busy one
  // after its answer is written.
  void shutdown();
  // Posts shutdown() to the session's strand; callable from any thread.
  void shutdown_from_any_thread();

 private:
  using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void do_read();
  void on_read_header(boost::system::error_code ec, std::size_t);
  void on_write_continue(boost::system::error_code ec, std::size_t);
  void on_read(boost::system::error_code ec, std::size_t);
  void on_read_error(boost::system::error_code ec);
  void handle();
  void publish();
  void on_published(const consumer::publish_job& job);
  void send(api::reply r);
  void on_write(bool keep_alive, boost::system::error_code ec, std::size_t);
  void linger_close();
  void on_linger_read(boost::system::error_code ec, std::size_t);
  void close();

  stream_type stream_;
  boost::beast::flat_buffer buffer_;
  server_context& ctx_;
  std::optional<request_parser> parser_;
  std::string out_;       // the answer being written, serialised by api::serialize_reply
  bool reading_ = false;  // waiting for (more of) a request
  bool closing_ = false;  // shutdown asked: close after the current answer
  bool head_ = false;     // current request is HEAD: answer without a body
  bool request_keep_alive_ = true;
};

}  // namespace agg::ingest
