// Flags -> options, wiring, signals, exit code. The logic lives in the libraries.
#include "api/router.hpp"
#include "consumer/consumer.hpp"
#include "core/options.hpp"
#include "ingest/http_session.hpp"
#include "ingest/listener.hpp"
#include "store/sqlite_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

extern char** environ;

namespace {

// After SIGTERM, connections still open this long (slow readers) are closed anyway, so the
// process exits well within a container's default 10 s stop timeout.
constexpr std::chrono::seconds drain_grace{5};

void close_sessions(agg::ingest::server_context& ctx) {
  // Take owners under the lock, act and let go of them outside it: the last owner of a
  // session may be one of these, and its destructor takes sessions_mu to unregister (a
  // self-deadlock on SIGTERM when the lock was still held, found by faults.storage).
  std::vector<std::shared_ptr<agg::ingest::http_session>> live;
  {
    std::lock_guard lk(ctx.sessions_mu);
    live.reserve(ctx.sessions.size());
    for (auto& [raw, weak] : ctx.sessions)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->shutdown_from_any_thread();
}

// --host may be an address or a name ("localhost"): names resolve to their first address.
boost::asio::ip::tcp::endpoint listen_endpoint(boost::asio::io_context& ioc,
                                               const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (!ec) return {addr, port};
  boost::asio::ip::tcp::resolver resolver(ioc);
  const auto found = resolver.resolve(host, std::to_string(port), ec);
  if (ec || found.empty())
    throw std::runtime_error("cannot resolve --host " + host + ": " +
                             (ec ? ec.message() : std::string("no address")));
  return found.begin()->endpoint();
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    bool help = false;
    const agg::options opts = agg::parse_options(args, env, help);
    if (help) {
      std::fputs(agg::usage(), stdout);
      return 0;
    }
    agg::logger log(opts.level);

    const unsigned threads =
        opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
    boost::asio::io_context ioc(static_cast<int>(threads));

    agg::consumer::consumer_options copts;
    copts.queue_capacity = opts.queue_capacity;
    copts.batch_max = opts.batch_max;
    copts.linger = std::chrono::milliseconds(opts.linger_ms);
    copts.completion_executor = ioc.get_executor();
    // The index and counters are rebuilt from the file here, before the port opens.
    agg::consumer::consumer consumer(agg::store::sqlite_store::open(opts.db, opts.sync), copts,
                                     log);

    std::atomic<bool> shutting_down{false};
    agg::api::router router(consumer, shutting_down);
    agg::ingest::server_context ctx{opts, consumer, router, log, shutting_down, {}, {}};

    const boost::asio::ip::tcp::endpoint ep = listen_endpoint(ioc, opts.host, opts.port);
    std::shared_ptr<agg::ingest::listener> listener;  // set below, before ioc.run()
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    boost::asio::steady_timer drain_timer(ioc);
    std::chrono::steady_clock::time_point drain_deadline;
    // Looks every 50 ms whether every session has ended; past the grace period it closes the
    // rest. When nothing is left, no timer is armed and ioc.run() returns.
    std::function<void()> watch_drain = [&] {
      bool empty;
      {
        std::lock_guard lk(ctx.sessions_mu);
        empty = ctx.sessions.empty();
      }
      if (empty) return;
      if (std::chrono::steady_clock::now() > drain_deadline) close_sessions(ctx);
      drain_timer.expires_after(std::chrono::milliseconds(50));
      drain_timer.async_wait([&](boost::system::error_code e) {
        if (!e) watch_drain();
      });
    };
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      std::string line = "shutdown_started";
      agg::logger::append_field(line, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
      log.always(line);
      shutting_down.store(true, std::memory_order_release);
      listener->stop();
      close_sessions(ctx);
      drain_deadline = std::chrono::steady_clock::now() + drain_grace;
      watch_drain();
    });

    // Only now announce the port: SIGTERM must find the handler installed above, not the
    // default action, as soon as a client can know the service is there.
    listener = std::make_shared<agg::ingest::listener>(ioc, ep, ctx);
    listener->run();
    {
      std::string line = "listening";
      agg::logger::append_field(line, "host", opts.host);
      agg::logger::append_field(line, "port", std::to_string(listener->port()));
      log.always(line);
      log.flush();
    }

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
    // run() returns once the acceptor is closed and every admitted request has been answered.
    ioc.run();
    for (auto& t : pool) t.join();

    consumer.stop();  // commits anything admitted, saves counters, checkpoints
    const auto s = consumer.snapshot();
    std::string line = "stopped";
    agg::logger::append_field(line, "unique_processed", std::to_string(s.totals.unique_processed));
    agg::logger::append_field(line, "duplicate_dropped",
                              std::to_string(s.totals.duplicate_dropped));
    log.always(line);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
