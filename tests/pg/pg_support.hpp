#pragma once

#include "pg_server.hpp"

#include <atomic>
#include <string>

namespace agg::test {

// The module's PostgreSQL server, started on first use from the main thread and stopped at
// exit; each test case makes its own database with fresh_database().
inline pg_server& shared_pg() {
  static pg_server server;
  return server;
}

inline std::string fresh_database() {
  static std::atomic<int> n{0};
  return shared_pg().create_database("t" + std::to_string(++n));
}

}  // namespace agg::test
