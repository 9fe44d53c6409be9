#pragma once

#include "api/handler.hpp"
#include "core/log.hpp"
#include "core/options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace agg::ingest {

class listener;
class server_context;
class tls_context;

// The HTTP side of the process: the I/O threads, the listener, SIGTERM/SIGINT and the drain
// that follows them, and with TLS the certificate and SIGHUP, which reloads it. It knows
// nothing of events; requests go to the handler.
class server {
 public:
  // With --tls-cert/--tls-key, loads both files first: throws std::runtime_error with one line
  // when one is missing or bad, before anything else starts.
  server(const options& opts, logger& log);
  ~server();

  // The first I/O thread's: signals, the listener, the drain, and what the service runs
  // besides connections (subscription fetches).
  boost::asio::any_io_executor executor() { return ioc_.get_executor(); }
  // Set once SIGTERM or SIGINT arrived; the service refuses new work from then on.
  const std::atomic<bool>& stopping() const noexcept { return stopping_; }

  // Installs the SIGTERM/SIGINT (and with TLS the SIGHUP) handler, listens (throws
  // std::runtime_error with one line when it cannot) and logs the `listening` line. Requests go to
  // `handler`, which must outlive run().
  void listen(api::handler& handler);
  std::uint16_t port() const;

  // Serves on the I/O threads until a signal or stop(), then stops accepting, answers every
  // admitted request, ends every stream and returns.
  void run();

  // What a signal does, from any thread.
  void stop();

 private:
  void begin_stop(const char* why);  // I/O thread
  void watch_drain();                // I/O thread
  void wait_reload();                // I/O thread: SIGHUP loads the TLS files again

  const options& opts_;
  logger& log_;
  const unsigned threads_;
  // One io_context per I/O thread, each run by that thread alone; a connection stays on the one
  // the listener gave it. ioc_ is the first thread's, more_ the others' (--threads - 1).
  boost::asio::io_context ioc_;
  std::vector<std::unique_ptr<boost::asio::io_context>> more_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<tls_context> tls_;  // null: plain HTTP
  std::unique_ptr<server_context> ctx_;
  std::shared_ptr<listener> listener_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set reload_signals_;  // SIGHUP, with TLS only (else its default action)
  boost::asio::steady_timer drain_timer_;   // I/O thread
  std::chrono::steady_clock::time_point drain_deadline_;  // I/O thread
};

}  // namespace agg::ingest
