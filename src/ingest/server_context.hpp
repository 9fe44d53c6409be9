#pragma once

#include "api/router.hpp"
#include "consumer/consumer.hpp"
#include "core/log.hpp"
#include "core/options.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace agg::ingest {

class http_session;

// What every session shares. Lives in main() for the whole run.
struct server_context {
  const options& opts;
  consumer::consumer& consumer;
  api::router& router;
  logger& log;
  std::atomic<bool>& shutting_down;  // set once by the signal handler in main()

  // Live sessions, so shutdown can close the idle ones.
  std::mutex sessions_mu;
  std::unordered_map<http_session*, std::weak_ptr<http_session>>
      sessions;  // guarded by sessions_mu
};

}  // namespace agg::ingest
