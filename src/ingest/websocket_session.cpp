#include "ingest/websocket_session.hpp"

#include "ingest/limits.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace agg::ingest {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

}  // namespace

template <class Stream>
basic_websocket_session<Stream>::basic_websocket_session(Stream stream, server_context& ctx,
                                                         api::stream_reply reply,
                                                         tls_context::context_ptr tls)
    : queued_sink(stream.get_executor(), std::move(reply)),
      tls_(std::move(tls)),
      ws_(std::move(stream)),
      ctx_(ctx) {}

template <class Stream>
basic_websocket_session<Stream>::~basic_websocket_session() {
  ctx_.remove_session(this);
}

template <class Stream>
void basic_websocket_session<Stream>::run(beast::http::request<beast::http::string_body> upgrade) {
  auto self = std::static_pointer_cast<basic_websocket_session>(this->shared_from_this());
  route_ = metrics::route_of(upgrade.target());
  ctx_.add_session(this, [weak = std::weak_ptr<basic_websocket_session>(self)](bool force) {
    auto s = weak.lock();
    if (!s) return;
    if (!force) return s->end({}, websocket::close_code::going_away, "shutting down");
    net::post(s->executor_, [s] {
      beast::get_lowest_layer(s->ws_).close();
      s->peer_gone(net::error::operation_aborted);
    });
  });
  // Pings keep idle streams alive through proxies and find dead peers; the handshake and a
  // close get their own time limit.
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.handshake_timeout = io_timeout;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "event-aggregator");
  }));
  ws_.text(true);
  beast::get_lowest_layer(ws_).expires_never();  // the websocket stream's own timeouts apply
  // The handshake's answer is built from `upgrade` at once: it need not outlive this call.
  ws_.async_accept(upgrade, beast::bind_front_handler(&basic_websocket_session::on_accept, self));
}

template <class Stream>
void basic_websocket_session<Stream>::on_accept(boost::system::error_code ec) {
  if (ec) return peer_gone(ec);  // never opened: the endpoint hears on_closed only
  ctx_.handler.answered(route_, beast::http::status::switching_protocols, false);
  open_ = true;
  if (ctx_.shutting_down.load(std::memory_order_acquire))
    end({}, websocket::close_code::going_away, "shutting down");
  open();
  do_read();
}

template <class Stream>
void basic_websocket_session<Stream>::do_read() {
  auto self = std::static_pointer_cast<basic_websocket_session>(this->shared_from_this());
  ws_.async_read(buffer_, beast::bind_front_handler(&basic_websocket_session::on_read, self));
}

template <class Stream>
void basic_websocket_session<Stream>::on_read(boost::system::error_code ec, std::size_t) {
  buffer_.clear();
  if (!ec) return do_read();
  // The client closed, or the connection failed: the stream is over.
  peer_gone(ec);
}

template <class Stream>
void basic_websocket_session<Stream>::write_messages(const std::vector<message>& ms,
                                                     write_handler done) {
  // The batch stays alive in the sink until `done` runs.
  writing_ = &ms;
  write_from(0, std::move(done));
}

template <class Stream>
void basic_websocket_session<Stream>::write_from(std::size_t i, write_handler done) {
  if (i == writing_->size()) return done({});
  ws_.async_write(
      net::buffer(*(*writing_)[i]),
      [self = std::static_pointer_cast<basic_websocket_session>(this->shared_from_this()), i,
       done = std::move(done)](boost::system::error_code ec, std::size_t) mutable {
        if (ec) return done(ec);
        self->write_from(i + 1, std::move(done));
      });
}

template <class Stream>
void basic_websocket_session<Stream>::write_end(std::uint16_t code, const std::string& reason,
                                                write_handler done) {
  websocket::close_reason cr(static_cast<websocket::close_code>(code), reason);
  ws_.async_close(cr, std::move(done));
}

template <class Stream>
void basic_websocket_session<Stream>::on_finished(boost::system::error_code) {
  boost::system::error_code ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(net::socket_base::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).close();
}

template class basic_websocket_session<plain_stream>;
template class basic_websocket_session<tls_stream>;

}  // namespace agg::ingest
