#include "core/options.hpp"

#include <boost/test/unit_test.hpp>

#include <stdexcept>

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
}

BOOST_AUTO_TEST_SUITE_END()
