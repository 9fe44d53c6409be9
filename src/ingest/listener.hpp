#pragma once

#include "ingest/http_session.hpp"
#include "ingest/server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <memory>

namespace agg::ingest {

// Accepts connections and starts a session on its own strand for each.
class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; throws std::runtime_error with one clear line at start-up (e.g. the
  // port is in use).
  listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& ep,
           server_context& ctx);

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void run();
  // Stops accepting (closes the acceptor on its strand).
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, http_session::stream_type::socket_type socket);
  void start_session(http_session::stream_type::socket_type socket);

  boost::asio::io_context& ioc_;
  server_context& ctx_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;  // strand_ only
  boost::asio::steady_timer retry_;          // strand_ only: back-off after EMFILE and friends
};

}  // namespace agg::ingest
