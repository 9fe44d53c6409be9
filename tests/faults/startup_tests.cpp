// Start-up failures a user meets first: every one is a single `error: ...` line and exit 1,
// never a half-started service.
#include "fault_support.hpp"
#include "server_process.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace agg::test;
using namespace agg::test::faults;

namespace {

std::string one_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(startup)

BOOST_AUTO_TEST_CASE(port_in_use_is_one_clear_line) {
  server_process running;  // holds a port
  temp_dir dir("agg-faults-");
  const auto port = std::to_string(running.port());
  const auto r = run_binary(
      {"--host", "127.0.0.1", "--port", port, "--db", (dir.path() / "events.db").string()});
  BOOST_TEST(r.exit.exited);
  BOOST_TEST(r.exit.code == 1);
  BOOST_TEST(one_line(r.output) ==
             "error: cannot listen on 127.0.0.1 port " + port + ": Address already in use");
}

// Two servers on one SQLite file would both assign the same seqs and the first commit that
// meets the other's rows would fail the store for good: the second is refused at start. The
// lock dies with its process, so after kill -9 a new server starts at once on the file.
BOOST_AUTO_TEST_CASE(second_server_on_the_same_file_is_refused_until_the_first_dies) {
  server_process first;
  const auto db = first.db_path().string();
  const auto r = run_binary({"--host", "127.0.0.1", "--port", "0", "--db", db});
  BOOST_TEST(r.exit.exited);
  BOOST_TEST(r.exit.code == 1);
  BOOST_TEST(one_line(r.output) ==
             "error: --db " + db +
                 " is in use by another running aggregator; stop it first or give this one "
                 "another --db");
  auto c = make_client(first);  // the first one is unharmed
  BOOST_TEST(c.post_json("/publish", single_body(make_event("lock", "1"))).status == 200u);

  first.kill9();
  first.start();  // the same folder and file, at once
  auto again = make_client(first);
  BOOST_TEST(as_int(at(get_stats(again), "unique_processed")) == 1);
}

BOOST_AUTO_TEST_CASE(bad_flag_values_name_the_flag) {
  const auto r = run_binary({"--port", "http"});
  BOOST_TEST(r.exit.code == 1);
  BOOST_TEST(one_line(r.output) ==
             "error: invalid value 'http' for --port: expected an integer from 0 to 65535");
  const auto u = run_binary({"--no-such-flag", "1"});
  BOOST_TEST(u.exit.code == 1);
  BOOST_TEST(one_line(u.output) == "error: unknown flag --no-such-flag (see --help)");
}

BOOST_AUTO_TEST_CASE(unresolvable_host_is_refused) {
  temp_dir dir("agg-faults-");
  const auto r = run_binary({"--host", "no-such-host.invalid", "--port", "0", "--db",
                             (dir.path() / "events.db").string()});
  BOOST_TEST(r.exit.code == 1);
  BOOST_TEST(one_line(r.output).rfind("error: cannot resolve --host no-such-host.invalid: ", 0) ==
             0u);
}

BOOST_AUTO_TEST_CASE(help_lists_every_flag_and_exits_0) {
  const auto r = run_binary({"--help"});
  BOOST_TEST(r.exit.clean());
  for (const char* flag :
       {"--host", "--port", "--db", "--threads", "--queue-capacity", "--batch-max", "--linger-ms",
        "--sync", "--max-body", "--max-batch", "--log-level", "--log-format"})
    BOOST_TEST(r.output.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_SUITE_END()
