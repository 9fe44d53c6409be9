#pragma once

#include "core/log.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace agg {

enum class sync_mode : std::uint8_t {
  normal,  // SQLite synchronous=NORMAL in WAL mode: a commit survives a crash of the process
  full,    // synchronous=FULL: the WAL is fsynced at every commit, survives power loss too
};

// Everything the service can be told at start. Each flag is also read from the environment as
// AGG_<NAME> (dashes become underscores, e.g. AGG_QUEUE_CAPACITY); a flag on the command line
// wins over the environment.
struct options {
  // --host: address to listen on. Default "0.0.0.0" (every IPv4 interface).
  std::string host = "0.0.0.0";
  // --port: TCP port. Default 8080; 0 picks a free port, printed in the `listening` line.
  std::uint16_t port = 8080;
  // --db: SQLite file, created with its folder if missing, or a PostgreSQL URI (postgresql://
  // or postgres://) shared by several nodes. Default "./data/events.db".
  std::string db = "./data/events.db";
  // --threads: HTTP threads. Default 0 = one per core.
  unsigned threads = 0;
  // --queue-capacity: events the intake queue holds before a publish is refused with 503.
  // Default 65536.
  std::size_t queue_capacity = 65536;
  // --batch-max: most events committed in one SQLite transaction. Default 4096.
  std::size_t batch_max = 4096;
  // --linger-ms: after an idle spell (no commit for this long), how long the consumer may wait
  // for a starting burst to fill a batch; the wait ends once 250 us pass without new events.
  // Under sustained load it never waits. Default 2; 0 never waits.
  unsigned linger_ms = 2;
  // --sync: durability of a commit, see sync_mode. Default normal.
  sync_mode sync = sync_mode::normal;
  // --max-body: largest request body in bytes, as sent and once decoded (Content-Encoding:
  // a gzip body is refused as soon as inflating it passes this); larger is 413. Default
  // 16777216 (16 MiB).
  std::size_t max_body = 16u << 20;
  // --max-batch: most events in one request; more is 413. Default 10000.
  std::size_t max_batch = 10000;
  // --max-subscribers: open /subscribe streams; one more is refused with 503 overloaded.
  // Default 10000.
  std::size_t max_subscribers = 10000;
  // --subscriber-buffer: bytes a stream may fall behind the live events (queued, not yet taken
  // by its socket) before it ends with an overflow message. Default 4194304 (4 MiB).
  std::size_t subscriber_buffer = 4u << 20;
  // --log-level: least severe level written. Default info (duplicates are logged at info).
  log_level level = log_level::info;
  // --log-format: text ("<event> key=value ...") or json (one object per line with ts, level,
  // msg and the event's fields, for log shippers). Default text.
  agg::log_format log_format = agg::log_format::text;
  // --auth: on requires a credential (API key or JWT) on every endpoint but /health and the
  // live page's files; off leaves everything open, as v1. Default off.
  bool auth = false;
  // --jwt-key: a PEM public key (RS256 or ES256) or any other file as an HS256 secret (its
  // bytes less one trailing newline); JWTs are accepted only when given. Default none.
  std::string jwt_key;
  // --jwt-audience: the `aud` a JWT must carry; not checked when empty. Default none.
  std::string jwt_audience;
  // --tls-cert / --tls-key: PEM certificate chain and its private key (unencrypted). Given
  // both, the port speaks HTTPS only (TLS 1.2 and 1.3) and WebSocket streams are wss://;
  // SIGHUP loads both files again for new connections. Default none: plain HTTP. One without
  // the other is an error.
  std::string tls_cert;
  std::string tls_key;
  // --amqp-url: the RabbitMQ broker (AMQP 0-9-1) of the bridge,
  // amqp://user:pass@host:5672/vhost. Default none: no bridge (the other --amqp-* need it).
  std::string amqp_url;
  // --amqp-consume: queue whose messages are publish bodies, acked after their commit (a
  // durable queue, declared if missing; an existing one is used as it is). Default none.
  std::string amqp_consume;
  // --amqp-publish-exchange: topic exchange every stored event is published to, in seq order,
  // with publisher confirms (durable, declared if missing). Default none.
  std::string amqp_publish_exchange;
  // --amqp-prefetch: most unacked messages the intake holds (basic.qos). Default 256.
  std::uint16_t amqp_prefetch = 256;
};

// Parses argv (without argv[0] and without a subcommand word, see split_command in
// core/flags.hpp) over the environment `env` ("NAME=value" strings). Throws
// std::invalid_argument with a one-line message naming the bad flag or value. Sets `help` when
// --help/-h was given (the caller prints usage()). The flags are one table in options.cpp: a new
// flag is a field above (with its effect and default) and one row there.
options parse_options(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      bool& help);

// The --help text: every flag with its effect and default.
const char* usage() noexcept;

}  // namespace agg
