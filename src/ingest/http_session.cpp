#include "ingest/http_session.hpp"

#include "ingest/publish_parser.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

namespace agg::ingest {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// Time a client has to send a whole request (also the keep-alive idle limit) and to take a
// whole answer; a slowloris client is dropped after it.
constexpr std::chrono::seconds io_timeout{30};
// Largest request line + headers; larger is 431.
constexpr std::uint32_t header_limit = 16 * 1024;
// How long a closing connection keeps draining what the client still sends.
constexpr std::chrono::seconds linger_timeout{2};

bool is_json_media_type(std::string_view v) {
  // "application/json" with optional parameters ("; charset=utf-8"), case-insensitive.
  const auto semi = v.find(';');
  std::string_view type = v.substr(0, semi);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return beast::iequals(type, "application/json");
}

}  // namespace

http_session::http_session(stream_type::socket_type socket, server_context& ctx)
    : stream_(std::move(socket)), ctx_(ctx) {}

http_session::~http_session() {
  std::lock_guard lk(ctx_.sessions_mu);
  ctx_.sessions.erase(this);
}

void http_session::run() {
  {
    std::lock_guard lk(ctx_.sessions_mu);
    ctx_.sessions.emplace(this, weak_from_this());
  }
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->ctx_.shutting_down.load(std::memory_order_acquire)) return self->close();
    self->do_read();
  });
}

void http_session::shutdown() {
  closing_ = true;
  if (reading_) close();  // no admitted request here: nothing to answer
}

void http_session::shutdown_from_any_thread() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->shutdown(); });
}

void http_session::do_read() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  parser_->body_limit(ctx_.opts.max_body);
  reading_ = true;
  stream_.expires_after(io_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&http_session::on_read_header, shared_from_this()));
}

void http_session::on_read_header(boost::system::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  const auto& req = parser_->get();
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    out_ = req.version() == 10 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n";
    return net::async_write(
        stream_, net::buffer(out_),
        beast::bind_front_handler(&http_session::on_write_continue, shared_from_this()));
  }
  on_write_continue({}, 0);
}

void http_session::on_write_continue(boost::system::error_code ec, std::size_t) {
  if (ec) return close();
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(boost::system::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  reading_ = false;
  handle();
}

void http_session::on_read_error(boost::system::error_code ec) {
  reading_ = false;
  // The client went away or stalled: there is nobody to answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == net::error::operation_aborted || ec == beast::error::timeout ||
      ec == net::error::connection_reset || ec == net::error::eof)
    return close();
  // The rest of the request cannot be framed, so every error answer closes the connection.
  api::reply r;
  if (ec == http::error::header_limit)
    r = api::error_reply(errc::header_too_large, "request line and headers exceed " +
                                                     std::to_string(header_limit) + " bytes");
  else if (ec == http::error::body_limit)
    r = api::error_reply(errc::too_large, "body is larger than the limit of " +
                                              std::to_string(ctx_.opts.max_body) + " bytes");
  else
    r = api::error_reply(errc::bad_request, "malformed HTTP request: " + ec.message());
  r.close = true;
  send(std::move(r));
}

void http_session::handle() {
  const auto& req = parser_->get();
  request_keep_alive_ = req.keep_alive();
  head_ = req.method() == http::verb::head;
  const std::string_view target = req.target();
  const auto qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  const std::string_view query =
      qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);
  auto routed = api::route(req.method(), path);
  if (auto* r = std::get_if<api::reply>(&routed)) return send(std::move(*r));
  const auto ep = std::get<api::endpoint>(routed);
  if (ep == api::endpoint::publish) return publish();
  stream_.expires_never();
  ctx_.router.handle(ep, query, [self = shared_from_this()](api::reply r) {
    // /events answers on a reader strand: come back to this session's strand.
    net::dispatch(self->stream_.get_executor(),
                  [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
  });
}

void http_session::publish() {
  auto& req = parser_->get();
  if (const auto ct = req.find(http::field::content_type);
      ct != req.end() && !is_json_media_type(ct->value()))
    return send(api::error_reply(
        errc::unsupported_media_type,
        "Content-Type must be application/json, not '" + std::string(ct->value()) + "'"));
  if (ctx_.shutting_down.load(std::memory_order_acquire))
    return send(api::error_reply(errc::shutting_down, "the service is shutting down; retry"));

  auto parsed = parse_publish(req.body(), ctx_.opts.max_batch);
  if (parsed.code != errc::ok)
    return send(api::error_reply(parsed.code, parsed.message, parsed.details));
  req.body().clear();
  req.body().shrink_to_fit();  // the body is parsed: do not hold it while the commit waits

  auto job = std::make_shared<consumer::publish_job>();
  job->events = std::move(parsed.events);
  job->text = std::move(parsed.text);
  job->executor = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
  job->on_done = [self = shared_from_this()](consumer::publish_job& j) { self->on_published(j); };
  stream_.expires_never();  // the wait for the commit is ours, not the client's
  switch (const errc e = ctx_.consumer.submit(job)) {
    case errc::ok:
      return;
    case errc::overloaded:
      return send(
          api::error_reply(e, "the intake queue is full; retry after the Retry-After delay"));
    case errc::too_large:
      return send(api::error_reply(e, "the request has more events than the intake queue holds (" +
                                          std::to_string(ctx_.opts.queue_capacity) + ")"));
    case errc::unavailable:
      return send(api::error_reply(e, "the store failed: " + ctx_.consumer.failure()));
    default:
      return send(api::error_reply(e, "the service is shutting down; retry"));
  }
}

void http_session::on_published(const consumer::publish_job& job) {
  if (job.error)
    return send(
        api::error_reply(errc::unavailable, "the store failed: " + ctx_.consumer.failure()));
  api::reply r;
  r.body = api::publish_body(job.events, job.results);
  send(std::move(r));
}

void http_session::send(api::reply r) {
  const auto code = static_cast<unsigned>(r.status);
  if (code >= 400 && code < 500) ctx_.consumer.count_rejected_invalid();
  if (r.retry_after > 0) ctx_.consumer.count_rejected_overloaded();

  const bool keep_alive = request_keep_alive_ && !r.close && !closing_ &&
                          !ctx_.shutting_down.load(std::memory_order_acquire);
  const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
  out_ = api::serialize_reply(r, version, keep_alive, head_);
  head_ = false;
  stream_.expires_after(io_timeout);
  net::async_write(
      stream_, net::buffer(out_),
      beast::bind_front_handler(&http_session::on_write, shared_from_this(), keep_alive));
}

void http_session::on_write(bool keep_alive, boost::system::error_code ec, std::size_t) {
  if (ec) return close();
  if (!keep_alive || closing_) return linger_close();
  do_read();
}

void http_session::linger_close() {
  // Close our side for sending, then read and discard what the client still sends (e.g. the
  // rest of a body over the limit) for a moment: closing with unread data would reset the
  // connection and could destroy the answer before the client reads it.
  boost::system::error_code ignored;
  stream_.socket().shutdown(net::socket_base::shutdown_send, ignored);
  stream_.expires_after(linger_timeout);
  buffer_.clear();
  stream_.async_read_some(
      buffer_.prepare(64 * 1024),
      beast::bind_front_handler(&http_session::on_linger_read, shared_from_this()));
}

void http_session::on_linger_read(boost::system::error_code ec, std::size_t) {
  if (ec) return close();
  stream_.async_read_some(
      buffer_.prepare(64 * 1024),
      beast::bind_front_handler(&http_session::on_linger_read, shared_from_this()));
}

void http_session::close() {
  reading_ = false;
  boost::system::error_code ignored;
  stream_.socket().shutdown(net::socket_base::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

}  // namespace agg::ingest
