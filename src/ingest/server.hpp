#pragma once

#include "api/handler.hpp"
#include "core/log.hpp"
#include "core/options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>

namespace agg::ingest {

// The HTTP side of the process: the I/O threads, the listener, SIGTERM/SIGINT and the drain
// that follows them. It knows nothing of events; requests go to the handler.
class server {
 public:
  server(const options& opts, logger& log);

  // Where answers are handed back to the I/O threads (the consumer posts one per commit).
  boost::asio::any_io_executor executor() { return ioc_.get_executor(); }
  // Set once SIGTERM or SIGINT arrived; the service refuses new work from then on.
  const std::atomic<bool>& stopping() const noexcept { return stopping_; }

  // Listens (throws std::runtime_error with one line when it cannot), logs the `listening`
  // line, serves until a signal, then stops accepting, answers every admitted request, ends
  // every stream and returns.
  void run(api::handler& handler);

 private:
  const options& opts_;
  logger& log_;
  const unsigned threads_;
  boost::asio::io_context ioc_;
  std::atomic<bool> stopping_{false};
};

}  // namespace agg::ingest
