#include "core/options.hpp"

#include "core/flags.hpp"

#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using agg::parse_options;

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(defaults_match_the_contract) {
  bool help = true;
  const auto o = parse_options({}, {}, help);
  BOOST_TEST(!help);
  BOOST_TEST(o.host == "0.0.0.0");
  BOOST_TEST(o.port == 8080);
  BOOST_TEST(o.db == "./data/events.db");
  BOOST_TEST(o.threads == 0u);
  BOOST_TEST(o.queue_capacity == 65536u);
  BOOST_TEST(o.batch_max == 4096u);
  BOOST_TEST(o.linger_ms == 2u);
  BOOST_TEST((o.sync == agg::sync_mode::normal));
  BOOST_TEST(o.max_body == 16777216u);
  BOOST_TEST(o.max_batch == 10000u);
  BOOST_TEST(o.max_subscribers == 10000u);
  BOOST_TEST(o.subscriber_buffer == 4194304u);
  BOOST_TEST((o.level == agg::log_level::info));
}

BOOST_AUTO_TEST_CASE(environment_then_flags_win) {
  bool help = false;
  const auto o = parse_options(
      {"--port", "9001", "--sync=full"},
      {"AGG_PORT=7000", "AGG_QUEUE_CAPACITY=128", "AGG_LOG_LEVEL=warn", "PATH=/bin"}, help);
  BOOST_TEST(o.port == 9001);
  BOOST_TEST(o.queue_capacity == 128u);
  BOOST_TEST((o.sync == agg::sync_mode::full));
  BOOST_TEST((o.level == agg::log_level::warn));
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_flag) {
  bool help = false;
  auto message = [&](std::vector<std::string> args, std::vector<std::string> env = {}) {
    try {
      parse_options(args, env, help);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  BOOST_TEST(message({"--port", "70000"}) ==
             "invalid value '70000' for --port: expected an integer from 0 to 65535");
  BOOST_TEST(message({"--sync", "always"}) ==
             "invalid value 'always' for --sync: expected normal or full");
  BOOST_TEST(message({"--bogus", "1"}) == "unknown flag --bogus (see --help)");
  BOOST_TEST(message({"--port"}) == "missing value for --port");
  BOOST_TEST(message({}, {"AGG_BATCH_MAX=0"}) ==
             "invalid value '0' for --batch-max: expected an integer from 1 to 1000000");
}

BOOST_AUTO_TEST_CASE(help_flag) {
  bool help = false;
  parse_options({"--help"}, {}, help);
  BOOST_TEST(help);
  help = false;
  parse_options({"-h"}, {}, help);
  BOOST_TEST(help);
  help = false;
  // With --help nothing else is parsed: a bad value does not hide the usage.
  parse_options({"--port", "abc", "--help"}, {"AGG_PORT=x"}, help);
  BOOST_TEST(help);
  help = true;
  parse_options({}, {"AGG_HELP=1"}, help);  // not a flag, so not read from the environment
  BOOST_TEST(!help);
}

namespace {

std::string error_of(const std::vector<std::string>& args,
                     const std::vector<std::string>& env = {}) {
  bool help = false;
  try {
    parse_options(args, env, help);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

BOOST_AUTO_TEST_CASE(both_spellings_and_the_last_value_win) {
  bool help = false;
  auto o = parse_options({"--port=1", "--db", "/tmp/a.db", "--port", "2", "--threads=0"}, {}, help);
  BOOST_TEST(o.port == 2);
  BOOST_TEST(o.db == "/tmp/a.db");
  o = parse_options({"--host", "::1", "--linger-ms=0", "--max-body", "1", "--max-batch=1000000",
                     "--batch-max", "1", "--log-level=debug", "--sync", "normal"},
                    {"AGG_SYNC=full", "AGG_HOST=x"}, help);
  BOOST_TEST(o.host == "::1");
  BOOST_TEST(o.linger_ms == 0u);
  BOOST_TEST(o.max_body == 1u);
  BOOST_TEST(o.max_batch == 1000000u);
  BOOST_TEST(o.batch_max == 1u);
  BOOST_TEST((o.level == agg::log_level::debug));
  BOOST_TEST((o.sync == agg::sync_mode::normal));
  // A value that starts with '-' but is no flag is a value.
  BOOST_TEST(error_of({"--port", "-1"}) ==
             "invalid value '-1' for --port: expected an integer from 0 to 65535");
}

BOOST_AUTO_TEST_CASE(environment_names) {
  bool help = false;
  // AGG_* variables that are no flag (the test harness's own) are ignored.
  const auto o = parse_options({},
                               {"AGG_TEST_KEEP_TMP=1", "AGG_MAX_BODY=5", "AGG_THREADS=3",
                                "AGG_DB=/d/e.db", "AGG_LINGER_MS=7", "AGG_=1", "AGG", "port=1"},
                               help);
  BOOST_TEST(o.max_body == 5u);
  BOOST_TEST(o.threads == 3u);
  BOOST_TEST(o.db == "/d/e.db");
  BOOST_TEST(o.linger_ms == 7u);
  BOOST_TEST(o.port == 8080);
  BOOST_TEST(error_of({}, {"AGG_LOG_LEVEL=loud"}) ==
             "invalid value 'loud' for --log-level: expected debug, info, warn or error");
  BOOST_TEST(error_of({"--log-level", "info"}, {"AGG_LOG_LEVEL=loud"}) == "no error");
  BOOST_TEST(
      (parse_options({}, {"AGG_LOG_FORMAT=json"}, help).log_format == agg::log_format::json));
  BOOST_TEST((parse_options({}, {}, help).log_format == agg::log_format::text));
  BOOST_TEST(error_of({"--log-format", "xml"}) ==
             "invalid value 'xml' for --log-format: expected text or json");
  // TLS takes both files or neither; from flags or the environment alike.
  const auto tls = parse_options({"--tls-cert", "/c.pem"}, {"AGG_TLS_KEY=/k.pem"}, help);
  BOOST_TEST(tls.tls_cert == "/c.pem");
  BOOST_TEST(tls.tls_key == "/k.pem");
  BOOST_TEST(parse_options({}, {}, help).tls_cert.empty());
  BOOST_TEST(error_of({"--tls-cert", "/c.pem"}) ==
             "--tls-cert and --tls-key go together: give both or neither");
  BOOST_TEST(error_of({}, {"AGG_TLS_KEY=/k.pem"}) ==
             "--tls-cert and --tls-key go together: give both or neither");
}

BOOST_AUTO_TEST_CASE(amqp_flags) {
  bool help = false;
  const auto d = parse_options({}, {}, help);
  BOOST_TEST(d.amqp_url.empty());
  BOOST_TEST(d.amqp_consume.empty());
  BOOST_TEST(d.amqp_publish_exchange.empty());
  BOOST_TEST(d.amqp_prefetch == 256u);
  const auto o = parse_options(
      {"--amqp-url", "amqp://u:p@h:5672/v", "--amqp-consume", "in", "--amqp-prefetch=32"},
      {"AGG_AMQP_PUBLISH_EXCHANGE=out", "AGG_AMQP_PREFETCH=9"}, help);
  BOOST_TEST(o.amqp_url == "amqp://u:p@h:5672/v");
  BOOST_TEST(o.amqp_consume == "in");
  BOOST_TEST(o.amqp_publish_exchange == "out");
  BOOST_TEST(o.amqp_prefetch == 32u);
  BOOST_TEST(error_of({"--amqp-prefetch", "0"}) ==
             "invalid value '0' for --amqp-prefetch: expected an integer from 1 to 65535");
}

BOOST_AUTO_TEST_CASE(every_mistake_is_one_line_naming_the_flag) {
  BOOST_TEST(error_of({"--bogus=1"}) == "unknown flag --bogus (see --help)");
  BOOST_TEST(error_of({"-x"}) == "unknown flag -x (see --help)");
  // No prefix guessing: a flag added later never changes what an old command line means.
  BOOST_TEST(error_of({"--po", "1"}) == "unknown flag --po (see --help)");
  BOOST_TEST(error_of({"--PORT=1"}) == "unknown flag --PORT (see --help)");
  BOOST_TEST(error_of({"--db=/x", "serve"}) == "unexpected argument 'serve' (see --help)");
  BOOST_TEST(error_of({"--", "--port"}) == "unexpected argument '--port' (see --help)");
  BOOST_TEST(error_of({"--help=yes"}) == "unexpected value for --help");
  BOOST_TEST(error_of({"--port", "8080", "--db"}) == "missing value for --db");
  BOOST_TEST(error_of({"--host="}) == "missing value for --host");
  BOOST_TEST(error_of({"--host", ""}) == "invalid value '' for --host: expected a non-empty value");
  BOOST_TEST(error_of({}, {"AGG_DB="}) == "invalid value '' for --db: expected a non-empty value");
  BOOST_TEST(error_of({"--threads", "257"}) ==
             "invalid value '257' for --threads: expected an integer from 0 to 256");
  BOOST_TEST(error_of({"--queue-capacity=16777217"}) ==
             "invalid value '16777217' for --queue-capacity: expected an integer from 1 to "
             "16777216");
  BOOST_TEST(error_of({"--max-body", "0"}) ==
             "invalid value '0' for --max-body: expected an integer from 1 to 2147483648");
  BOOST_TEST(error_of({"--linger-ms", "+1"}) ==
             "invalid value '+1' for --linger-ms: expected an integer from 0 to 10000");
  BOOST_TEST(error_of({"--max-batch", "1 "}) ==
             "invalid value '1 ' for --max-batch: expected an integer from 1 to 1000000");
  BOOST_TEST(error_of({"--subscriber-buffer", "0"}) ==
             "invalid value '0' for --subscriber-buffer: expected an integer from 1 to 4294967296");
  BOOST_TEST(error_of({"--max-subscribers", "-1"}) ==
             "invalid value '-1' for --max-subscribers: expected an integer from 0 to 1000000");
}

BOOST_AUTO_TEST_CASE(usage_lists_every_flag_with_its_default) {
  // Defaults come from the fields of agg::options, so this also checks that they match the
  // contract's "Running" table.
  BOOST_TEST(
      std::string(agg::usage()) ==
      "usage: aggregator [flags]\n"
      "\n"
      "Event Aggregator: idempotent HTTP event intake with durable SQLite storage.\n"
      "Every flag is also read from the environment as AGG_<NAME> (e.g. AGG_PORT=9000,\n"
      "AGG_QUEUE_CAPACITY=1024); the flag wins.\n"
      "\n"
      "  --host ADDR               address or host name to listen on (default 0.0.0.0)\n"
      "  --port N                  TCP port; 0 picks a free one (default 8080)\n"
      "  --db PATH                 SQLite file (created with its folder if missing) or "
      "postgresql:// URI\n"
      "                            (default ./data/events.db)\n"
      "  --threads N               HTTP threads; 0 = one per core (default 0)\n"
      "  --queue-capacity N        events the intake queue holds before 503 (default 65536)\n"
      "  --batch-max N             most events per SQLite transaction (default 4096)\n"
      "  --linger-ms N             after an idle spell, wait this long for a burst to fill a "
      "batch; 0\n"
      "                            never waits (default 2)\n"
      "  --sync normal|full        normal survives a process crash; full also power loss (default "
      "normal)\n"
      "  --max-body BYTES          largest request body, else 413 (default 16777216)\n"
      "  --max-batch N             most events per request, else 413 (default 10000)\n"
      "  --max-subscribers N       open /subscribe streams, else 503 (default 10000)\n"
      "  --subscriber-buffer BYTES bytes a stream may lag the live events before it ends "
      "(overflow)\n"
      "                            (default 4194304)\n"
      "  --log-level LEVEL         least severe level written: debug, info, warn or error (default "
      "info)\n"
      "  --log-format FORMAT       text (event key=value) or json (one object per line: ts, level, "
      "msg and\n"
      "                            the event's fields) (default text)\n"
      "  --auth off|on             on: every endpoint but /health and the live page needs an API "
      "key or\n"
      "                            JWT (default off)\n"
      "  --jwt-key FILE            accept JWTs: PEM public key (RS256, ES256) or HS256 secret "
      "file\n"
      "  --jwt-audience AUD        the aud a JWT must carry (unchecked when unset)\n"
      "  --tls-cert FILE           PEM certificate chain: HTTPS only (TLS 1.2, 1.3), with "
      "--tls-key\n"
      "  --tls-key FILE            PEM private key of --tls-cert (unencrypted); SIGHUP reloads "
      "both\n"
      "  --amqp-url URL            RabbitMQ broker amqp://user:pass@host:5672/vhost\n"
      "  --amqp-consume QUEUE      queue whose messages are published (acked after commit)\n"
      "  --amqp-publish-exchange X topic exchange X gets every stored event\n"
      "  --amqp-prefetch N         most unacked messages of --amqp-consume (default 256)\n"
      "  -h [ --help ]             print this text and exit\n");
}

BOOST_AUTO_TEST_SUITE_END()

// The table machinery as a subcommand (`aggregator keys revoke --db DB ID`) will use it.
BOOST_AUTO_TEST_SUITE(flags)

struct revoke_options {
  std::string db;
  unsigned retries = 3;
};

std::vector<agg::flag> revoke_flags(revoke_options& r) {
  return {agg::text_flag("db", "PATH", "SQLite file", r.db, /*required=*/true),
          agg::uint_flag<unsigned>("retries", "N", "attempts", r.retries, 1, 9)};
}

BOOST_AUTO_TEST_CASE(split_command_takes_only_a_registered_first_word) {
  constexpr std::string_view commands[] = {"keys"};
  auto c = agg::split_command({"keys", "revoke", "--db", "e.db", "7"}, commands);
  BOOST_TEST(c.command == "keys");
  BOOST_TEST((c.rest == std::vector<std::string>{"revoke", "--db", "e.db", "7"}));
  constexpr std::string_view keys_commands[] = {"add", "list", "revoke"};
  c = agg::split_command(c.rest, keys_commands);
  BOOST_TEST(c.command == "revoke");
  BOOST_TEST((c.rest == std::vector<std::string>{"--db", "e.db", "7"}));
  c = agg::split_command({"--db", "keys"}, commands);  // a flag's value is never a command
  BOOST_TEST(c.command == "");
  BOOST_TEST((c.rest == std::vector<std::string>{"--db", "keys"}));
  c = agg::split_command({"key", "list"}, commands);
  BOOST_TEST(c.command == "");
  BOOST_TEST(c.rest.size() == 2u);
  BOOST_TEST(agg::split_command({}, commands).command == "");
}

BOOST_AUTO_TEST_CASE(subcommand_table_with_required_flag_and_positional) {
  revoke_options r;
  auto found = agg::parse_flags(revoke_flags(r), {"--db", "e.db", "42"}, {"AGG_RETRIES=5"}, 1);
  BOOST_TEST(!found.help);
  BOOST_TEST((found.positionals == std::vector<std::string>{"42"}));
  BOOST_TEST(r.db == "e.db");
  BOOST_TEST(r.retries == 5u);

  auto error_of = [](std::vector<std::string> args, std::size_t max_positionals) {
    revoke_options fresh;
    try {
      agg::parse_flags(revoke_flags(fresh), args, {}, max_positionals);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  BOOST_TEST(error_of({"42"}, 1) == "missing flag --db (see --help)");
  BOOST_TEST(error_of({"--db", "e.db", "42", "43"}, 1) == "unexpected argument '43' (see --help)");
  BOOST_TEST(error_of({"--db", "e.db", "--retries=0"}, 1) ==
             "invalid value '0' for --retries: expected an integer from 1 to 9");
  BOOST_TEST(error_of({"--port", "1"}, 1) == "unknown flag --port (see --help)");
  revoke_options h;
  BOOST_TEST(agg::parse_flags(revoke_flags(h), {"-h"}, {}, 1).help);  // no "missing flag --db"
}

BOOST_AUTO_TEST_CASE(describe_flags_shows_value_effect_and_default) {
  revoke_options r;
  BOOST_TEST(agg::describe_flags(revoke_flags(r)) ==
             "  --db PATH             SQLite file (required)\n"
             "  --retries N           attempts (default 3)\n"
             "  -h [ --help ]         print this text and exit\n");
}

BOOST_AUTO_TEST_SUITE_END()
