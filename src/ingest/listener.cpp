#include "ingest/listener.hpp"

#include "ingest/http_session.hpp"
#include "ingest/tls_context.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include <stdexcept>

namespace agg::ingest {

namespace net = boost::asio;

listener::listener(net::io_context& ioc, std::vector<net::io_context*> sessions,
                   const net::ip::tcp::endpoint& ep, server_context& ctx)
    : sessions_(std::move(sessions)),
      ctx_(ctx),
      strand_(net::make_strand(ioc)),
      acceptor_(strand_),
      retry_(strand_) {
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + ep.address().to_string() + " port " +
                             std::to_string(ep.port()) + ": " + ec.message());
}

void listener::run() {
  net::dispatch(strand_, [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  net::dispatch(strand_, [self = shared_from_this()] {
    // Connections the kernel completed before the stop may already carry a request: take
    // them from the backlog, so that each such request gets an answer (503 shutting_down for
    // a publish) instead of a reset when the acceptor closes.
    boost::system::error_code ec;
    self->acceptor_.non_blocking(true, ec);
    while (!ec) {
      http_session::stream_type::socket_type socket(self->next_session_executor());
      self->acceptor_.accept(socket, ec);
      if (!ec) self->start_session(std::move(socket));
    }
    self->acceptor_.close(ec);
    self->retry_.cancel();
  });
}

void listener::do_accept() {
  acceptor_.async_accept(next_session_executor(), boost::beast::bind_front_handler(
                                                      &listener::on_accept, shared_from_this()));
}

http_session::executor_type listener::next_session_executor() {
  auto& ioc = *sessions_[next_];
  next_ = (next_ + 1) % sessions_.size();
  return ioc.get_executor();
}

void listener::on_accept(boost::system::error_code ec,
                         http_session::stream_type::socket_type socket) {
  if (!acceptor_.is_open()) {
    // Stopped meanwhile; a connection accepted just before still gets its session.
    if (!ec) start_session(std::move(socket));
    return;
  }
  if (ec) {
    if (ec == net::error::operation_aborted) return;
    // Out of file descriptors (EMFILE/ENFILE) or memory: the pending connection stays in the
    // backlog. Back off instead of spinning, and keep serving the connections we have.
    std::string line = "accept_failed";
    logger::append_field(line, "error", ec.message());
    ctx_.log.write(log_level::warn, line);
    retry_.expires_after(std::chrono::milliseconds(50));
    retry_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  start_session(std::move(socket));
  do_accept();
}

void listener::start_session(http_session::stream_type::socket_type socket) {
  boost::system::error_code ignored;
  socket.set_option(net::ip::tcp::no_delay(true), ignored);  // answers are small and latency-bound
  // TLS: the connection keeps the certificate current now, whatever a SIGHUP loads later.
  if (ctx_.tls)
    return std::make_shared<https_session>(std::move(socket), ctx_, ctx_.tls->current())->run();
  std::make_shared<http_session>(std::move(socket), ctx_)->run();
}

}  // namespace agg::ingest
