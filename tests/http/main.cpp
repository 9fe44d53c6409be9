// Black-box tests of the aggregator binary over HTTP (see CONTRACT.md). Each test case
// starts the real binary on 127.0.0.1:0 with a SQLite file in a fresh temp folder, or, with
// AGG_TEST_STORE=postgresql, with a fresh database of one PostgreSQL server that the module
// starts for itself (ctest's pg.http_suites: the same suites on the shared store).
#define BOOST_TEST_MODULE aggregator_http
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "ignore_sigpipe.hpp"
#include "pg_server.hpp"
#include "server_process.hpp"

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

struct store_choice {
  store_choice() {
    const char* s = std::getenv("AGG_TEST_STORE");
    const std::string_view store = s ? s : "sqlite";
    if (store == "sqlite") return;
    if (store != "postgresql")
      throw std::runtime_error("AGG_TEST_STORE: 'sqlite' (default) or 'postgresql'");
    pg = std::make_unique<agg::test::pg_server>();
    agg::test::server_process::set_store_provider(
        [this] { return pg->create_database("t" + std::to_string(++databases)); });
  }
  ~store_choice() { agg::test::server_process::set_store_provider({}); }

  std::unique_ptr<agg::test::pg_server> pg;
  int databases = 0;
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);
BOOST_TEST_GLOBAL_FIXTURE(store_choice);
