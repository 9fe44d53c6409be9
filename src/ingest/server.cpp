#include "ingest/server.hpp"

#include "ingest/listener.hpp"
#include "ingest/server_context.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <csignal>
#include <functional>
#include <thread>
#include <vector>

namespace agg::ingest {
namespace {

namespace net = boost::asio;

// After SIGTERM, connections still open this long (slow readers, streams that do not take
// their end) are cut off, so the process exits well within a container's default 10 s stop
// timeout.
constexpr std::chrono::seconds drain_grace{5};

// --host may be an address or a name ("localhost"): names resolve to their first address.
net::ip::tcp::endpoint listen_endpoint(net::io_context& ioc, const std::string& host,
                                       std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (!ec) return {addr, port};
  net::ip::tcp::resolver resolver(ioc);
  const auto found = resolver.resolve(host, std::to_string(port), ec);
  if (ec || found.empty())
    throw std::runtime_error("cannot resolve --host " + host + ": " +
                             (ec ? ec.message() : std::string("no address")));
  return found.begin()->endpoint();
}

}  // namespace

server::server(const options& opts, logger& log)
    : opts_(opts),
      log_(log),
      threads_(opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency())),
      ioc_(static_cast<int>(threads_)) {}

void server::run(api::handler& handler) {
  server_context ctx(opts_, handler, log_, stopping_);
  const auto ep = listen_endpoint(ioc_, opts_.host, opts_.port);
  std::shared_ptr<listener> accept;  // set below, before ioc_.run()
  net::signal_set signals(ioc_, SIGINT, SIGTERM);
  net::steady_timer drain_timer(ioc_);
  std::chrono::steady_clock::time_point drain_deadline;
  // Looks every 50 ms whether every connection has ended; past the grace period it cuts off
  // the rest. When nothing is left, no timer is armed and ioc_.run() returns.
  std::function<void()> watch_drain = [&] {
    if (ctx.no_sessions()) return;
    if (std::chrono::steady_clock::now() > drain_deadline) ctx.shut_down_sessions(true);
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([&](boost::system::error_code e) {
      if (!e) watch_drain();
    });
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    std::string line = "shutdown_started";
    logger::append_field(line, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    log_.always(line);
    stopping_.store(true, std::memory_order_release);
    accept->stop();
    ctx.shut_down_sessions(false);
    drain_deadline = std::chrono::steady_clock::now() + drain_grace;
    watch_drain();
  });

  // Only now announce the port: SIGTERM must find the handler installed above, not the
  // default action, as soon as a client can know the service is there.
  accept = std::make_shared<listener>(ioc_, ep, ctx);
  accept->run();
  {
    std::string line = "listening";
    logger::append_field(line, "host", opts_.host);
    logger::append_field(line, "port", std::to_string(accept->port()));
    log_.always(line);
    log_.flush();
  }

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads_; ++i) pool.emplace_back([this] { ioc_.run(); });
  // run() returns once the acceptor is closed and every admitted request has been answered.
  ioc_.run();
  for (auto& t : pool) t.join();
}

}  // namespace agg::ingest
