#include "ingest/http_session.hpp"

#include "ingest/limits.hpp"
#include "ingest/websocket_session.hpp"
#include "ingest/wire.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <array>

namespace agg::ingest {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// A stream over HTTP: each message one chunk of the session's response.
template <class Session>
class chunked_sink final : public queued_sink {
 public:
  chunked_sink(std::shared_ptr<Session> s, executor_type executor, api::stream_reply r)
      : queued_sink(std::move(executor), std::move(r)), session_(std::move(s)) {}

 private:
  void write_messages(const std::vector<message>& ms, write_handler done) override {
    session_->write_chunks(ms, std::move(done));
  }
  void write_end(std::uint16_t, const std::string&, write_handler done) override {
    session_->write_last_chunk(std::move(done));
  }
  void on_finished(boost::system::error_code) override {
    // Let go of the session (it holds this sink too): the cycle ends here.
    auto s = std::move(session_);
    s->stream_finished();
  }

  std::shared_ptr<Session> session_;
};

}  // namespace

template <class Stream>
Stream basic_http_session<Stream>::make_stream(socket_type socket,
                                               const tls_context::context_ptr& tls) {
  if constexpr (is_tls)
    return Stream(std::move(socket), *tls);
  else
    return Stream(std::move(socket));
}

template <class Stream>
basic_http_session<Stream>::basic_http_session(socket_type socket, server_context& ctx,
                                               tls_context::context_ptr tls)
    : tls_(std::move(tls)),
      stream_(make_stream(std::move(socket), tls_)),
      ctx_(ctx),
      idle_close_timer_(stream_.get_executor()) {}

template <class Stream>
basic_http_session<Stream>::~basic_http_session() {
  ctx_.remove_session(this);
}

template <class Stream>
void basic_http_session<Stream>::run() {
  ctx_.add_session(this, [weak = this->weak_from_this()](bool force) {
    if (auto self = weak.lock())
      net::post(self->stream_.get_executor(), [self, force] { self->shutdown(force); });
  });
  net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (is_tls) {
      // A client that does not finish the handshake in time (or speaks plain HTTP to this
      // port) is closed: the handshake fails and nothing else happens.
      self->handshaking_ = true;
      self->tcp().expires_after(tls_handshake_timeout);
      self->stream_.async_handshake(
          net::ssl::stream_base::server,
          beast::bind_front_handler(&basic_http_session::on_handshake, self));
    } else {
      self->start();
    }
  });
}

template <class Stream>
void basic_http_session<Stream>::on_handshake(boost::system::error_code ec) {
  handshaking_ = false;
  if (ec) return close();
  start();
}

template <class Stream>
void basic_http_session<Stream>::start() {
  if (ctx_.shutting_down.load(std::memory_order_acquire)) {
    // Accepted while the service stops: answer what the client already sent, if anything.
    closing_ = true;
    if (!request_waiting()) return close();
  }
  do_read();
}

template <class Stream>
void basic_http_session<Stream>::shutdown(bool force) {
  closing_ = true;
  if (handshaking_) return close();  // no request can have been admitted yet
  if (sink_) {
    auto s = sink_;
    if (!force)
      return s->end({}, beast::websocket::close_code::going_away, "the service is shutting down");
    close();  // the client does not take the end of its stream: let it go
    return s->peer_gone(net::error::operation_aborted);
  }
  if (!reading_) return;  // an admitted request: closes after its answer
  if (force) return close();
  if (request_waiting()) return;  // it gets its answer, then the connection closes
  // Nothing seen yet. But a read may already have taken bytes from the kernel whose handler
  // has not run (the reactor reads before it queues the completion), so look again shortly
  // instead of closing now: closing could cut off a request sent before the stop.
  idle_close_timer_.expires_after(idle_close_delay);
  idle_close_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
    if (!ec && self->reading_ && !self->request_waiting()) self->close();
  });
}

template <class Stream>
bool basic_http_session<Stream>::request_waiting() {
  boost::system::error_code ec;
  const auto in_kernel = tcp().socket().available(ec);
  bool decrypted = false;  // TLS: a record already read and decrypted, not yet taken
  if constexpr (is_tls) decrypted = SSL_pending(stream_.native_handle()) > 0;
  return (!ec && in_kernel > 0) || decrypted || (parser_ && parser_->got_some()) ||
         buffer_.size() > 0;
}

template <class Stream>
void basic_http_session<Stream>::do_read() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  // The wire size; decoding_body holds the decoded size to --max-body.
  parser_->body_limit(api::max_encoded_size(ctx_.opts.max_body));
  early_.reset();
  request_ = {};
  reading_ = true;
  // Room to read a request in one go; what a large body needed is given back, so idle
  // connections stay small.
  if (buffer_.capacity() > 2 * request_read_room) buffer_.shrink_to_fit();
  buffer_.reserve(buffer_.size() + request_read_room);
  tcp().expires_after(closing_ ? drain_read_timeout : io_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&basic_http_session::on_read_header, this->shared_from_this()));
}

template <class Stream>
api::request_head basic_http_session<Stream>::head() const {
  const auto& req = parser_->get();
  return {req.method(),
          req.target(),
          &req.base(),
          beast::websocket::is_upgrade(req),
          api::decide_body_format(req.base()),
          nullptr};
}

template <class Stream>
void basic_http_session<Stream>::on_read_header(boost::system::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  const auto& req = parser_->get();
  // HTTP/1.0 has no 100 Continue: the expectation is ignored (RFC 9110 10.1.1).
  const bool expects_continue =
      req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue");
  request_ = head();
  early_ = ctx_.handler.check_head(request_);
  if (!early_) {
    // Decode while reading (an early answer drops the body instead).
    auto& body = parser_->get().body();
    body.decoder = std::make_unique<api::body_decoder>(request_.format.coding, ctx_.opts.max_body);
    body.reserve = request_.format.coding == api::content_coding::identity;
  }
  if (early_) {
    // Decided from the head. A client waiting for 100-continue has not sent the body, and a
    // reply that closes does not want it: answer now. Otherwise read the body and drop it,
    // so the connection stays usable.
    if (expects_continue || early_->close || parser_->is_done()) {
      if (!parser_->is_done()) early_->close = true;  // the unread body cannot be framed
      reading_ = false;
      return handle();
    }
    return on_write_continue({}, 0);
  }
  if (expects_continue) {
    out_ = "HTTP/1.1 100 Continue\r\n\r\n";
    return net::async_write(stream_, net::buffer(out_),
                            beast::bind_front_handler(&basic_http_session::on_write_continue,
                                                      this->shared_from_this()));
  }
  on_write_continue({}, 0);
}

template <class Stream>
void basic_http_session<Stream>::on_write_continue(boost::system::error_code ec, std::size_t) {
  if (ec) return close();
  // A large body is read in pieces of up to body_read_room (see limits.hpp).
  const auto length = parser_->content_length();
  if (!length || *length > request_read_room)
    buffer_.reserve(buffer_.size() +
                    std::min<std::uint64_t>(length.value_or(body_read_room), body_read_room));
  http::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&basic_http_session::on_read, this->shared_from_this()));
}

template <class Stream>
void basic_http_session<Stream>::on_read(boost::system::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  reading_ = false;
  handle();
}

template <class Stream>
void basic_http_session<Stream>::request_read() {
  read_done_ = std::chrono::steady_clock::now();
  route_ = parser_ && parser_->is_header_done() ? metrics::route_of(parser_->get().target())
                                                : metrics::route::other;
}

template <class Stream>
void basic_http_session<Stream>::record_answer(http::status status, bool overloaded) {
  ctx_.handler.answered(route_, status, overloaded);
  metrics::process().request_duration(route_).observe_since(read_done_);
}

template <class Stream>
void basic_http_session<Stream>::on_read_error(boost::system::error_code ec) {
  reading_ = false;
  // The client went away or stalled: there is nobody to answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == net::error::operation_aborted || ec == beast::error::timeout ||
      ec == net::error::connection_reset || ec == net::error::eof)
    return close();
  if constexpr (is_tls) {
    // Closed without a close_notify, or a TLS failure (a bad record, an alert): nothing can
    // be answered on this connection any more.
    if (ec == net::ssl::error::stream_truncated || ec.category() == net::error::get_ssl_category())
      return close();
  }
  // The rest of the request cannot be framed, so every error answer closes the connection.
  request_read();
  api::reply r;
  if (ec == http::error::header_limit)
    r = api::error_reply(errc::header_too_large, "request line and headers exceed " +
                                                     std::to_string(header_limit) + " bytes");
  else if (ec == http::error::body_limit)
    r = api::error_reply(errc::too_large, "body is larger than the limit of " +
                                              std::to_string(ctx_.opts.max_body) + " bytes");
  else if (ec.category() == agg_category() && parser_->get().body().decoder)
    r = api::error_reply(static_cast<errc>(ec.value()), parser_->get().body().decoder->message());
  else
    r = api::error_reply(errc::bad_request, "malformed HTTP request: " + ec.message());
  r.close = true;
  send(std::move(r));
}

template <class Stream>
void basic_http_session<Stream>::handle() {
  request_read();
  auto& req = parser_->get();
  request_keep_alive_ = req.keep_alive();
  head_ = req.method() == http::verb::head;
  if (early_) {
    auto r = std::move(*early_);
    early_.reset();
    return send(std::move(r));
  }
  tcp().expires_never();  // the wait for the answer (a commit, a read) is ours
  api::request r{std::move(request_), std::move(req.body().text),
                 net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked)};
  ctx_.handler.handle(std::move(r), [self = this->shared_from_this()](api::answer a) {
    // Answers may come from a store or consumer thread: back to this session's thread.
    net::dispatch(self->stream_.get_executor(),
                  [self, a = std::move(a)]() mutable { self->on_answer(std::move(a)); });
  });
}

template <class Stream>
void basic_http_session<Stream>::on_answer(api::answer a) {
  if (auto* r = std::get_if<api::reply>(&a)) return send(std::move(*r));
  auto& s = std::get<api::stream_reply>(a);
  if (parser_ && beast::websocket::is_upgrade(parser_->get())) return upgrade(std::move(s));
  start_stream(std::move(s));
}

template <class Stream>
void basic_http_session<Stream>::send(api::reply r) {
  record_answer(r.status, r.retry_after > 0);
  const bool keep_alive = request_keep_alive_ && !r.close && !closing_ &&
                          !ctx_.shutting_down.load(std::memory_order_acquire);
  const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
  out_ = serialize_reply(r, version, keep_alive, head_);
  head_ = false;
  tcp().expires_after(io_timeout);
  net::async_write(stream_, net::buffer(out_),
                   beast::bind_front_handler(&basic_http_session::on_write,
                                             this->shared_from_this(), keep_alive));
}

template <class Stream>
void basic_http_session<Stream>::on_write(bool keep_alive, boost::system::error_code ec,
                                          std::size_t) {
  if (ec) return close();
  if (!keep_alive || closing_) return linger_close();
  do_read();
}

template <class Stream>
void basic_http_session<Stream>::start_stream(api::stream_reply s) {
  record_answer(s.status, false);
  // A stream is the connection's last answer: it ends when the client or the service leaves.
  out_ = serialize_stream_head(s, parser_->get().version(), false);
  sink_ = std::make_shared<chunked_sink<basic_http_session>>(this->shared_from_this(),
                                                             stream_.get_executor(), std::move(s));
  tcp().expires_after(io_timeout);
  net::async_write(
      stream_, net::buffer(out_),
      beast::bind_front_handler(&basic_http_session::on_stream_head, this->shared_from_this()));
}

template <class Stream>
void basic_http_session<Stream>::on_stream_head(boost::system::error_code ec, std::size_t) {
  auto s = sink_;
  if (ec) {
    close();
    return s->peer_gone(ec);
  }
  tcp().expires_never();
  s->open();
  watch_peer();
}

template <class Stream>
void basic_http_session<Stream>::watch_peer() {
  // Nothing is expected from the client while it follows a stream; a read that ends tells
  // that it left. Read on the socket itself: the stream's write timeout must not cancel it.
  // TLS reads through the TLS stream (the client may send alerts or a close_notify); its read
  // has no timeout (expires_never above) and a write's expires_after leaves a pending read's
  // timer alone.
  peer_reading_ = true;
  if constexpr (is_tls)
    stream_.async_read_some(
        net::buffer(peer_byte_),
        beast::bind_front_handler(&basic_http_session::on_peer_read, this->shared_from_this()));
  else
    stream_.socket().async_read_some(
        net::buffer(peer_byte_),
        beast::bind_front_handler(&basic_http_session::on_peer_read, this->shared_from_this()));
}

template <class Stream>
void basic_http_session<Stream>::on_peer_read(boost::system::error_code ec, std::size_t) {
  peer_reading_ = false;
  if (!sink_) {
    // TLS: the stream ended while this read was pending (see stream_finished); the client
    // took the end and closed, or said something after it: done either way.
    if constexpr (is_tls) {
      idle_close_timer_.cancel();
      close();
    }
    return;
  }
  if (!ec) return watch_peer();
  close();
  auto s = sink_;
  s->peer_gone(ec);
}

template <class Stream>
void basic_http_session<Stream>::write_chunks(const std::vector<api::stream_sink::message>& ms,
                                              queued_sink::write_handler done) {
  const bool chunked = parser_->get().version() != 10;
  chunk_heads_.resize(ms.size());
  iov_.clear();
  for (std::size_t i = 0; i < ms.size(); ++i) {
    if (chunked) {
      chunk_heads_[i] = chunk_prefix(ms[i]->size());
      iov_.push_back(net::buffer(chunk_heads_[i]));
    }
    iov_.push_back(net::buffer(*ms[i]));
    if (chunked) iov_.push_back(net::buffer(chunk_suffix.data(), chunk_suffix.size()));
  }
  tcp().expires_after(io_timeout);
  net::async_write(
      stream_, iov_,
      [done = std::move(done)](boost::system::error_code ec, std::size_t) { done(ec); });
}

template <class Stream>
void basic_http_session<Stream>::write_last_chunk(queued_sink::write_handler done) {
  // HTTP/1.0: the close ends the body. Posted, not called: a write never completes inside
  // the call that started it (see queued_sink::send_all).
  if (parser_->get().version() == 10)
    return net::post(stream_.get_executor(), [done] { done({}); });
  tcp().expires_after(io_timeout);
  net::async_write(
      stream_, net::buffer(last_chunk.data(), last_chunk.size()),
      [done = std::move(done)](boost::system::error_code ec, std::size_t) { done(ec); });
}

template <class Stream>
void basic_http_session<Stream>::stream_finished() {
  sink_.reset();
  if constexpr (is_tls) {
    if (peer_reading_) {
      // The read that watched the client is still pending on the TLS stream, and a second
      // read cannot join it: send the close_notify, let that read see the client close, and
      // cut off a client that does not within the linger time.
      send_close_notify([](boost::system::error_code) {});
      idle_close_timer_.expires_after(linger_timeout);
      idle_close_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->close();
      });
      return;
    }
  }
  linger_close();
}

template <class Stream>
void basic_http_session<Stream>::upgrade(api::stream_reply s) {
  // The WebSocket session takes the socket and the upgrade request; this session ends here.
  // It counts the request once the handshake is done; its time to the 101 is this session's.
  metrics::process().request_duration(route_).observe_since(read_done_);
  // It needs the head only: an upgrade request has no body.
  http::request<http::string_body> req(std::move(parser_->release().base()));
  if constexpr (is_tls)
    std::make_shared<basic_websocket_session<Stream>>(std::move(stream_), ctx_, std::move(s),
                                                      std::move(tls_))
        ->run(std::move(req));
  else
    std::make_shared<basic_websocket_session<Stream>>(Stream(stream_.release_socket()), ctx_,
                                                      std::move(s))
        ->run(std::move(req));
}

template <class Stream>
void basic_http_session<Stream>::linger_close() {
  if constexpr (is_tls) {
    // A close_notify first (so the client can tell the end from a cut), then drain below the
    // TLS layer as for plain TCP.
    tcp().expires_after(linger_timeout);
    send_close_notify([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->close();
      self->linger_drain();
    });
  } else {
    linger_drain();
  }
}

template <class Stream>
template <class Handler>
void basic_http_session<Stream>::send_close_notify(Handler&& done) {
  // Marking the client's close_notify as received makes the TLS shutdown complete once ours
  // is written, instead of waiting for the client's (which many clients never send).
  SSL_set_shutdown(stream_.native_handle(),
                   SSL_get_shutdown(stream_.native_handle()) | SSL_RECEIVED_SHUTDOWN);
  stream_.async_shutdown(std::forward<Handler>(done));
}

template <class Stream>
void basic_http_session<Stream>::linger_drain() {
  // Close our side for sending, then read and discard what the client still sends (e.g. the
  // rest of a body over the limit) for a moment: closing with unread data would reset the
  // connection and could destroy the answer before the client reads it.
  boost::system::error_code ignored;
  tcp().socket().shutdown(net::socket_base::shutdown_send, ignored);
  tcp().expires_after(linger_timeout);
  buffer_.clear();
  tcp().async_read_some(
      buffer_.prepare(64 * 1024),
      beast::bind_front_handler(&basic_http_session::on_linger_read, this->shared_from_this()));
}

template <class Stream>
void basic_http_session<Stream>::on_linger_read(boost::system::error_code ec, std::size_t) {
  if (ec) return close();
  tcp().async_read_some(
      buffer_.prepare(64 * 1024),
      beast::bind_front_handler(&basic_http_session::on_linger_read, this->shared_from_this()));
}

template <class Stream>
void basic_http_session<Stream>::close() {
  reading_ = false;
  boost::system::error_code ignored;
  tcp().socket().shutdown(net::socket_base::shutdown_both, ignored);
  tcp().socket().close(ignored);
}

template class basic_http_session<plain_stream>;
template class basic_http_session<tls_stream>;

}  // namespace agg::ingest
