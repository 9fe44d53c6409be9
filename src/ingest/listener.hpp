#pragma once

#include "ingest/http_session.hpp"
#include "ingest/server_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <vector>

namespace agg::ingest {

// Accepts connections and starts a session for each. Each connection is given to the next I/O
// thread's io_context in turn and stays on that thread for its life.
class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens on `ioc`; throws std::runtime_error with one clear line at start-up (e.g.
  // the port is in use). `sessions`: the I/O threads' io_contexts (at least one), which must
  // outlive the listener.
  listener(boost::asio::io_context& ioc, std::vector<boost::asio::io_context*> sessions,
           const boost::asio::ip::tcp::endpoint& ep, server_context& ctx);

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void run();
  // Stops accepting (closes the acceptor on its strand).
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, http_session::stream_type::socket_type socket);
  void start_session(http_session::stream_type::socket_type socket);
  http_session::executor_type next_session_executor();  // strand_ only

  std::vector<boost::asio::io_context*> sessions_;
  std::size_t next_ = 0;  // strand_ only: the io_context the next connection goes to
  server_context& ctx_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;  // strand_ only
  boost::asio::steady_timer retry_;          // strand_ only: back-off after EMFILE and friends
};

}  // namespace agg::ingest
