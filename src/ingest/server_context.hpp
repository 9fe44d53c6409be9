#pragma once

#include "api/handler.hpp"
#include "core/log.hpp"
#include "core/options.hpp"

#include <atomic>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace agg::ingest {

class tls_context;

// What every connection shares. Lives in the server for the whole run.
class server_context {
 public:
  server_context(const options& o, api::handler& h, logger& l, std::atomic<bool>& stopping)
      : opts(o), handler(h), log(l), shutting_down(stopping) {}

  const options& opts;
  api::handler& handler;
  logger& log;
  std::atomic<bool>& shutting_down;  // set once when SIGTERM or SIGINT arrives
  // --tls-cert/--tls-key given: every connection speaks TLS with its current context. Null:
  // plain HTTP. Set before the listener starts, never changed after.
  tls_context* tls = nullptr;

  // Live connections register how to shut them down, so a stop reaches each of them.
  void add_session(const void* key, std::function<void(bool force)> shutdown) {
    std::lock_guard lk(mu_);
    sessions_.emplace(key, std::move(shutdown));
  }
  void remove_session(const void* key) {
    std::lock_guard lk(mu_);
    sessions_.erase(key);
  }
  bool no_sessions() const {
    std::lock_guard lk(mu_);
    return sessions_.empty();
  }
  // Calls every registered shutdown (`force`: the grace period is over) outside the lock: one may
  // release a session's last owner, whose destructor unregisters (taking the lock).
  void shut_down_sessions(bool force) {
    std::vector<std::function<void(bool)>> all;
    {
      std::lock_guard lk(mu_);
      all.reserve(sessions_.size());
      for (const auto& [key, f] : sessions_) all.push_back(f);
    }
    for (const auto& f : all) f(force);
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<const void*, std::function<void(bool)>> sessions_;  // guarded by mu_
};

}  // namespace agg::ingest
