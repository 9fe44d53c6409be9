#pragma once

#include "ingest/http_session.hpp"
#include "ingest/queued_sink.hpp"
#include "ingest/server_context.hpp"
#include "ingest/tls_context.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace agg::ingest {

// A WebSocket connection carrying one stream answer: each message a text frame. Takes over
// the stream (plain TCP, or TLS after its handshake: wss://) of the HTTP session that read the
// upgrade request. What the client sends is read (pings and the close handshake need it) and
// ignored. Strand only, but for the thread-safe stream_sink calls.
template <class Stream>
class basic_websocket_session final : public queued_sink {
 public:
  // `tls`: the context `stream` was made with (held for the connection's life); null if plain.
  basic_websocket_session(Stream stream, server_context& ctx, api::stream_reply reply,
                          tls_context::context_ptr tls = nullptr);
  ~basic_websocket_session() override;

  void run(boost::beast::http::request<boost::beast::http::string_body> upgrade);

 private:
  void on_accept(boost::system::error_code ec);
  void do_read();
  void on_read(boost::system::error_code ec, std::size_t);
  void write_messages(const std::vector<message>& ms, write_handler done) override;
  void write_from(std::size_t i, write_handler done);  // its thread: one WebSocket message each
  void write_end(std::uint16_t code, const std::string& reason, write_handler done) override;
  void on_finished(boost::system::error_code ec) override;

  tls_context::context_ptr tls_;
  boost::beast::websocket::stream<Stream> ws_;
  server_context& ctx_;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;                              // the handshake is done
  const std::vector<message>* writing_ = nullptr;  // its thread: the batch write_messages got
  metrics::route route_ = metrics::route::other;   // of the upgrade request
};

using websocket_session = basic_websocket_session<plain_stream>;
extern template class basic_websocket_session<plain_stream>;
extern template class basic_websocket_session<tls_stream>;

}  // namespace agg::ingest
