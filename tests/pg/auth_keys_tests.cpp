// API keys kept in PostgreSQL (--auth on with a shared store): `aggregator keys` against the
// database before and while two nodes serve it; a key added or revoked through the command
// reaches both nodes within 1 s. ~3 s.
#define BOOST_TEST_DYN_LINK
#include "child_process.hpp"
#include "pg_support.hpp"
#include "test_support.hpp"

#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

using namespace agg::test;
using verb = boost::beast::http::verb;

namespace {

std::pair<int, std::string> run_keys(const std::string& args) {
  return run_captured("timeout 20 " + std::string(AGG_BINARY) + " keys " + args + " 2>&1");
}

// How long until GET /stats with `key` answers `want` (at most 2 s; max() when never).
std::chrono::steady_clock::duration until_status(http_client& c, const std::string& key,
                                                 unsigned want) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) {
    if (c.request(verb::get, "/stats", {}, {{"Authorization", "Bearer " + key}}).status == want)
      return std::chrono::steady_clock::now() - t0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::chrono::steady_clock::duration::max();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pg_cluster)

BOOST_AUTO_TEST_CASE(keys_in_postgres_reach_every_node) {
  const auto uri = fresh_database();
  // Before any node: the command creates the schema (agg_meta included) and the keys tables.
  auto [rc, key] = run_keys("add --db '" + uri + "' --name first --scopes read");
  BOOST_TEST_REQUIRE(rc == 0, key);
  key.pop_back();
  server_config cfg;
  cfg.db = uri;
  cfg.args = {"--auth", "on"};
  server_process a(cfg), b(cfg);
  log_on_failure guard(a);
  auto ca = make_client(a), cb = make_client(b);
  // Loaded at start.
  BOOST_TEST(ca.request(verb::get, "/stats", {}, {{"Authorization", "Bearer " + key}}).status ==
             200u);
  BOOST_TEST(cb.request(verb::get, "/stats", {}, {{"Authorization", "Bearer " + key}}).status ==
             200u);
  // Added while they serve.
  auto [rc2, late] = run_keys("add --db '" + uri + "' --name late --scopes read,admin");
  BOOST_TEST_REQUIRE(rc2 == 0, late);
  late.pop_back();
  BOOST_TEST(until_status(ca, late, 200) < std::chrono::seconds(1));
  BOOST_TEST(until_status(cb, late, 200) < std::chrono::seconds(1));
  // Revoked while they serve.
  const auto id = key.substr(4, 16);
  BOOST_TEST_REQUIRE(run_keys("revoke --db '" + uri + "' " + id).first == 0);
  BOOST_TEST(until_status(ca, key, 401) < std::chrono::seconds(1));
  BOOST_TEST(until_status(cb, key, 401) < std::chrono::seconds(1));
  const auto list = run_keys("list --db '" + uri + "'").second;
  BOOST_TEST(list.find(id + " first read - ") == 0u, list);
  BOOST_TEST(list.find(" late publish") == std::string::npos);
  BOOST_TEST(list.find(" late read,admin - ") != std::string::npos, list);
  a.terminate();
  b.terminate();
  BOOST_TEST(a.all_logs().find(key) == std::string::npos);
  BOOST_TEST(b.all_logs().find(late) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
