#include "core/options.hpp"

#include "core/flags.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace agg {
namespace {

// The one table of the service's flags. Each row names a flag, its value and its effect, and
// binds the field it sets; the default shown by --help is the field's initial value in
// `options`. Ranges are what the service was measured or designed to handle.
std::vector<flag> serve_flags(options& o) {
  return {
      text_flag("host", "ADDR", "address or host name to listen on", o.host),
      uint_flag<std::uint16_t>("port", "N", "TCP port; 0 picks a free one", o.port, 0, 65535),
      text_flag("db", "PATH",
                "SQLite file (created with its folder if missing) or postgresql:// URI", o.db),
      uint_flag<unsigned>("threads", "N", "HTTP threads; 0 = one per core", o.threads, 0, 256),
      uint_flag<std::size_t>("queue-capacity", "N", "events the intake queue holds before 503",
                             o.queue_capacity, 1, std::size_t{1} << 24),
      uint_flag<std::size_t>("batch-max", "N", "most events per SQLite transaction", o.batch_max, 1,
                             1000000),
      uint_flag<unsigned>("linger-ms", "N",
                          "after an idle spell, wait this long for a burst to fill a batch; 0 "
                          "never waits",
                          o.linger_ms, 0, 10000),
      choice_flag<sync_mode>("sync", "", "normal survives a process crash; full also power loss",
                             o.sync, {{"normal", sync_mode::normal}, {"full", sync_mode::full}}),
      uint_flag<std::size_t>("max-body", "BYTES", "largest request body, else 413", o.max_body, 1,
                             std::size_t{1} << 31),
      uint_flag<std::size_t>("max-batch", "N", "most events per request, else 413", o.max_batch, 1,
                             1000000),
      uint_flag<std::size_t>("max-subscribers", "N", "open /subscribe streams, else 503",
                             o.max_subscribers, 0, 1000000),
      uint_flag<std::size_t>("subscriber-buffer", "BYTES",
                             "bytes a stream may lag the live events before it ends (overflow)",
                             o.subscriber_buffer, 1, std::size_t{1} << 32),
      choice_flag<log_level>("log-level", "LEVEL",
                             "least severe level written: debug, info, warn or error", o.level,
                             {{"debug", log_level::debug},
                              {"info", log_level::info},
                              {"warn", log_level::warn},
                              {"error", log_level::error}}),
      choice_flag<log_format>("log-format", "FORMAT",
                              "text (event key=value) or json (one object per line: ts, level, "
                              "msg and the event's fields)",
                              o.log_format,
                              {{"text", log_format::text}, {"json", log_format::json}}),
      choice_flag<bool>("auth", "",
                        "on: every endpoint but /health and the live page needs an API key or JWT",
                        o.auth, {{"off", false}, {"on", true}}),
      text_flag("jwt-key", "FILE",
                "accept JWTs: PEM public key (RS256, ES256) or HS256 secret file", o.jwt_key),
      text_flag("jwt-audience", "AUD", "the aud a JWT must carry (unchecked when unset)",
                o.jwt_audience),
      text_flag("tls-cert", "FILE",
                "PEM certificate chain: HTTPS only (TLS 1.2, 1.3), with --tls-key", o.tls_cert),
      text_flag("tls-key", "FILE",
                "PEM private key of --tls-cert (unencrypted); SIGHUP reloads both", o.tls_key),
      text_flag("amqp-url", "URL", "RabbitMQ broker amqp://user:pass@host:5672/vhost", o.amqp_url),
      text_flag("amqp-consume", "QUEUE", "queue whose messages are published (acked after commit)",
                o.amqp_consume),
      // "X", not "EXCHANGE": the usage text's flag column keeps its width.
      text_flag("amqp-publish-exchange", "X", "topic exchange X gets every stored event",
                o.amqp_publish_exchange),
      uint_flag<std::uint16_t>("amqp-prefetch", "N", "most unacked messages of --amqp-consume",
                               o.amqp_prefetch, 1, 65535),
  };
}

}  // namespace

options parse_options(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      bool& help) {
  options o;
  help = parse_flags(serve_flags(o), args, env).help;
  if (!help && o.tls_cert.empty() != o.tls_key.empty())
    throw std::invalid_argument("--tls-cert and --tls-key go together: give both or neither");
  return o;
}

const char* usage() noexcept {
  static const std::string text = [] {
    options defaults;
    return "usage: aggregator [flags]\n"
           "\n"
           "Event Aggregator: idempotent HTTP event intake with durable SQLite storage.\n"
           "Every flag is also read from the environment as AGG_<NAME> (e.g. AGG_PORT=9000,\n"
           "AGG_QUEUE_CAPACITY=1024); the flag wins.\n"
           "\n" +
           describe_flags(serve_flags(defaults));
  }();
  return text.c_str();
}

}  // namespace agg
