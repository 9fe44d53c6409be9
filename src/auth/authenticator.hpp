#pragma once

#include "auth/credentials.hpp"
#include "auth/jwt.hpp"
#include "auth/key_store.hpp"
#include "auth/permissions.hpp"
#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace agg::auth {

// Who a request is, once its credential checked out.
struct principal {
  std::uint8_t scopes = 0;
  topic_set topics;    // what it may publish and read
  std::string key_id;  // the API key's id; "" for a JWT
};

struct auth_result {
  enum status_t { ok, missing, invalid } status = missing;
  std::shared_ptr<const principal> who;  // set when ok
};

// Decides credentials for --auth on. API keys are held in memory (id -> SHA-256 and grant),
// reloaded by a poll thread whenever the store's keys generation changes (every `poll`, so a
// revocation reaches every node within about that long); a request costs one SHA-256 and a
// constant-time compare. Last-used times are kept in memory and written every `flush`.
// Verified JWTs are remembered in a small LRU keyed by the token's SHA-256 until they expire,
// so a token's signature is checked once, not per request.
class authenticator {
 public:
  struct settings {
    std::string db;            // --db
    std::string jwt_key;       // --jwt-key; "" = no JWTs
    std::string jwt_audience;  // --jwt-audience; "" = aud not checked
    std::chrono::milliseconds poll{250};
    std::chrono::milliseconds flush{5000};
    std::size_t jwt_cache = 4096;  // verified tokens remembered
  };

  // Opens the keys table and loads it, reads the JWT key: throws std::runtime_error with one
  // line when either fails. Starts the poll thread.
  authenticator(settings s, logger& log);
  ~authenticator();  // stops the poll thread and saves the last-used times
  authenticator(const authenticator&) = delete;
  authenticator& operator=(const authenticator&) = delete;

  // Any thread.
  auth_result check(const presented& p);

 private:
  struct key_entry {
    std::string hash;
    std::shared_ptr<const principal> who;
    std::shared_ptr<std::atomic<std::int64_t>> used_ms;  // last use, ms since epoch; 0 never
  };
  using key_map = std::unordered_map<std::string, key_entry>;
  struct cached_jwt {
    std::shared_ptr<const principal> who;
    std::int64_t exp = 0;
    std::list<std::string>::iterator lru;
  };

  auth_result check_key(const std::string& token);
  auth_result check_jwt(const std::string& token);
  void reload();      // poll thread (and the constructor)
  void flush_used();  // poll thread (and the destructor)
  void run();

  const settings settings_;
  logger& log_;
  std::unique_ptr<key_store> store_;  // poll thread only (after the constructor)
  std::unique_ptr<jwt_verifier> jwt_;

  mutable std::mutex keys_mu_;
  std::shared_ptr<const key_map> keys_;  // guarded by keys_mu_; the map itself is immutable
  std::int64_t generation_ = -1;         // poll thread only
  std::unordered_map<std::string, std::int64_t> flushed_ms_;  // poll thread only
  bool reload_failing_ = false;                               // poll thread only

  std::mutex jwt_mu_;
  std::unordered_map<std::string, cached_jwt> jwt_cache_;  // guarded by jwt_mu_
  std::list<std::string> jwt_lru_;                         // guarded by jwt_mu_, newest first

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stop_ = false;  // guarded by run_mu_
  std::thread thread_;
};

// An API key: "agg_" + 16 hex id + "_" + 43 base64url characters (256 bits from the OS).
struct new_key {
  std::string id;
  std::string key;
  std::string hash;  // SHA-256 of `key`, raw
};
new_key generate_key();  // throws std::runtime_error when the OS gives no randomness
std::string sha256(std::string_view data);

}  // namespace agg::auth
