#include "ingest/server.hpp"

#include "ingest/listener.hpp"
#include "ingest/server_context.hpp"
#include "ingest/tls_context.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <csignal>
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
      ioc_(1),
      signals_(ioc_, SIGINT, SIGTERM),
      reload_signals_(ioc_),
      drain_timer_(ioc_) {
  for (unsigned i = 1; i < threads_; ++i) more_.push_back(std::make_unique<net::io_context>(1));
  if (!opts.tls_cert.empty()) tls_ = std::make_unique<tls_context>(opts.tls_cert, opts.tls_key);
}

server::~server() = default;

void server::listen(api::handler& handler) {
  ctx_ = std::make_unique<server_context>(opts_, handler, log_, stopping_);
  ctx_->tls = tls_.get();
  const auto ep = listen_endpoint(ioc_, opts_.host, opts_.port);
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (!ec) begin_stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  if (tls_) {
    reload_signals_.add(SIGHUP);
    wait_reload();
    std::string line = "tls";
    logger::append_field(line, "cert", tls_->cert_file());
    logger::append_field(line, "key", tls_->key_file());
    log_.write(log_level::info, line);
  }
  // Only now announce the port: SIGTERM must find the handler installed above, not the
  // default action, as soon as a client can know the service is there.
  std::vector<net::io_context*> contexts{&ioc_};
  for (auto& c : more_) contexts.push_back(c.get());
  listener_ = std::make_shared<listener>(ioc_, std::move(contexts), ep, *ctx_);
  listener_->run();
  std::string line = "listening";
  logger::append_field(line, "host", opts_.host);
  logger::append_field(line, "port", std::to_string(listener_->port()));
  log_.always(line);
  log_.flush();
}

std::uint16_t server::port() const {
  return listener_->port();
}

void server::run() {
  // The other threads' io_contexts may have nothing to do for a while (no connection yet):
  // held until the first one's run() returns.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> held;
  std::vector<std::thread> pool;
  for (auto& c : more_) {
    held.push_back(net::make_work_guard(*c));
    pool.emplace_back([&c] { c->run(); });
  }
  // ioc_.run() returns once the acceptor is closed and every connection has ended (the drain
  // watches them all); the other threads then finish what is left and return.
  ioc_.run();
  held.clear();
  for (auto& t : pool) t.join();
}

void server::stop() {
  boost::asio::post(ioc_, [this] { begin_stop("stop"); });
}

void server::begin_stop(const char* why) {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  std::string line = "shutdown_started";
  logger::append_field(line, "signal", why);
  log_.always(line);
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  reload_signals_.cancel(ignored);
  listener_->stop();
  ctx_->handler.stopping();
  ctx_->shut_down_sessions(false);
  drain_deadline_ = std::chrono::steady_clock::now() + drain_grace;
  watch_drain();
}

void server::wait_reload() {
  reload_signals_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;  // cancelled: the service stops
    // Open connections keep the pair they started with; a bad file keeps the old pair.
    const std::string error = tls_->reload();
    std::string line = error.empty() ? "tls_reloaded" : "tls_reload_failed";
    if (error.empty()) {
      logger::append_field(line, "cert", tls_->cert_file());
      log_.write(log_level::info, line);
    } else {
      logger::append_field(line, "error", error);
      logger::append_field(line, "kept", "previous certificate and key");
      log_.write(log_level::error, line);
    }
    wait_reload();
  });
}

void server::watch_drain() {
  // Looks every 50 ms whether every connection has ended; past the grace period it cuts off
  // the rest. When nothing is left, no timer is armed and ioc_.run() returns.
  if (ctx_->no_sessions()) return;
  if (std::chrono::steady_clock::now() > drain_deadline_) ctx_->shut_down_sessions(true);
  drain_timer_.expires_after(std::chrono::milliseconds(50));
  drain_timer_.async_wait([this](boost::system::error_code e) {
    if (!e) watch_drain();
  });
}

}  // namespace agg::ingest
