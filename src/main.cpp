// Flags -> options, wiring, exit code. The logic lives in the libraries.
#include "api/service.hpp"
#include "auth/authenticator.hpp"
#include "auth/keys_command.hpp"
#include "bridge/bridge.hpp"
#include "consumer/consumer.hpp"
#include "core/flags.hpp"
#include "core/options.hpp"
#include "ingest/server.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

// --db: a PostgreSQL URI is the shared store of several nodes, anything else a SQLite file.
std::unique_ptr<agg::store::event_store> open_store(const agg::options& opts) {
  if (agg::store::is_postgres_uri(opts.db)) return agg::store::pg_store::open(opts.db, {});
  return agg::store::sqlite_store::open(opts.db, {opts.sync});
}

// Serves until SIGTERM or SIGINT; returns the exit code.
int serve(const agg::options& opts) {
  agg::logger log(opts.level, opts.log_format);
  agg::ingest::server http(opts, log);
  // SQLite: the index and counters are rebuilt from the file here, before the port opens.
  auto store = open_store(opts);
  agg::consumer::consumer consumer(
      *store, {opts.queue_capacity, opts.batch_max, std::chrono::milliseconds(opts.linger_ms)},
      log);
  // --auth on: the keys are loaded (and the JWT key read) before the port opens.
  std::unique_ptr<agg::auth::authenticator> auth;
  if (opts.auth)
    auth = std::make_unique<agg::auth::authenticator>(
        agg::auth::authenticator::settings{opts.db, opts.jwt_key, opts.jwt_audience}, log);
  agg::api::service service(*store, consumer, http.stopping(), http.executor(),
                            {opts.max_batch,
                             opts.max_body,
                             {opts.max_subscribers, opts.subscriber_buffer},
                             opts.db,
                             auth.get()});
  // The RabbitMQ bridge: its own threads; HTTP serves whether the broker is there or not.
  std::unique_ptr<agg::bridge::bridge> amqp;
  if (!opts.amqp_url.empty()) {
    amqp = std::make_unique<agg::bridge::bridge>(
        agg::bridge::bridge::settings{opts.amqp_url, opts.amqp_consume, opts.amqp_publish_exchange,
                                      opts.amqp_prefetch},
        service.publish_path(), *store, log);
    service.attach(*amqp);
    amqp->start();
  }
  http.listen(service);
  http.run();

  if (amqp) amqp->stop();  // unacked messages go back to the queue

  consumer.stop();  // commits and answers everything admitted
  store->close();   // saves the rejected counts, checkpoints
  const auto totals = store->stats().totals;
  std::string line = "stopped";
  agg::logger::append_field(line, "unique_processed", std::to_string(totals.unique_processed));
  agg::logger::append_field(line, "duplicate_dropped", std::to_string(totals.duplicate_dropped));
  log.always(line);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    static constexpr std::string_view commands[] = {"keys"};
    if (auto cmd = agg::split_command(args, commands); cmd.command == "keys")
      return agg::auth::keys_command(cmd.rest, env, stdout);
    bool help = false;
    const agg::options opts = agg::parse_options(args, env, help);
    if (help) {
      std::fputs(agg::usage(), stdout);
      return 0;
    }
    if (opts.amqp_url.empty() &&
        (!opts.amqp_consume.empty() || !opts.amqp_publish_exchange.empty()))
      throw std::invalid_argument("--amqp-consume and --amqp-publish-exchange need --amqp-url");
    return serve(opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
