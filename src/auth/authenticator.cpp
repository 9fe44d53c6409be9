#include "auth/authenticator.hpp"

#include "core/clock.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace agg::auth {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The id part of a key, or "" when `token` is not shaped like one.
std::string_view key_id_of(std::string_view token) {
  if (!token.starts_with("agg_") || token.size() != 4 + 16 + 1 + 43 || token[20] != '_') return {};
  return token.substr(4, 16);
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up in its providers on
  // every digest, and this runs on every request with a credential.
  static EVP_MD* const sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!sha || EVP_Digest(data.data(), data.size(), md, &n, sha, nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<char*>(md), n);
}

new_key generate_key() {
  unsigned char id[8], secret[32];
  if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, sizeof secret) != 1)
    throw std::runtime_error("the operating system gave no randomness for a key");
  static constexpr char hex[] = "0123456789abcdef";
  new_key k;
  for (const unsigned char b : id) {
    k.id.push_back(hex[b >> 4]);
    k.id.push_back(hex[b & 15]);
  }
  k.key = "agg_" + k.id + "_" +
          base64url_encode(std::string_view(reinterpret_cast<char*>(secret), sizeof secret));
  OPENSSL_cleanse(secret, sizeof secret);
  k.hash = sha256(k.key);
  return k;
}

authenticator::authenticator(settings s, logger& log) : settings_(std::move(s)), log_(log) {
  if (!settings_.jwt_key.empty())
    jwt_ = jwt_verifier::load(settings_.jwt_key, settings_.jwt_audience);
  store_ = key_store::open(settings_.db, false);
  reload();
  thread_ = std::thread([this] { run(); });
}

authenticator::~authenticator() {
  {
    std::lock_guard lk(run_mu_);
    stop_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    flush_used();
  } catch (const std::exception&) {
  }
}

void authenticator::run() {
  auto next_flush = std::chrono::steady_clock::now() + settings_.flush;
  std::unique_lock lk(run_mu_);
  while (!run_cv_.wait_for(lk, settings_.poll, [this] { return stop_; })) {
    lk.unlock();
    try {
      reload();
      if (std::chrono::steady_clock::now() >= next_flush) {
        next_flush = std::chrono::steady_clock::now() + settings_.flush;
        flush_used();
      }
      if (reload_failing_) {
        reload_failing_ = false;
        log_.write(log_level::info, "keys_reachable");
      }
    } catch (const std::exception& e) {
      if (!reload_failing_) {
        std::string line = "keys_unreachable";
        logger::append_field(line, "reason", e.what());
        log_.write(log_level::warn, line);  // the keys in memory stay in use
      }
      reload_failing_ = true;
    }
    lk.lock();
  }
}

void authenticator::reload() {
  const auto gen = store_->generation();
  if (gen == generation_) return;
  flush_used();  // a key about to be dropped (revoked) keeps its last use
  std::shared_ptr<const key_map> old;
  {
    std::lock_guard lk(keys_mu_);
    old = keys_;
  }
  auto next = std::make_shared<key_map>();
  for (auto& k : store_->load()) {
    if (!k.revoked.empty()) continue;
    auto p = std::make_shared<principal>();
    p->scopes = k.scopes;
    p->key_id = k.id;
    if (auto t = parse_topic_list(k.topics)) p->topics = std::move(*t);
    key_entry e{std::move(k.hash), std::move(p), nullptr};
    if (old)
      if (const auto it = old->find(k.id); it != old->end()) e.used_ms = it->second.used_ms;
    if (!e.used_ms) e.used_ms = std::make_shared<std::atomic<std::int64_t>>(0);
    next->emplace(k.id, std::move(e));
  }
  {
    std::lock_guard lk(keys_mu_);
    keys_ = std::move(next);
  }
  generation_ = gen;
  std::string line = "keys_loaded";
  logger::append_field(line, "generation", std::to_string(gen));
  log_.write(log_level::debug, line);
}

void authenticator::flush_used() {
  std::shared_ptr<const key_map> keys;
  {
    std::lock_guard lk(keys_mu_);
    keys = keys_;
  }
  if (!keys) return;
  std::vector<std::pair<std::string, std::string>> changed;
  for (const auto& [id, e] : *keys) {
    const auto used = e.used_ms->load(std::memory_order_relaxed);
    auto& flushed = flushed_ms_[id];
    if (used > flushed) {
      changed.emplace_back(
          id,
          format_utc_ms(std::chrono::system_clock::time_point(std::chrono::milliseconds(used))));
      flushed = used;
    }
  }
  store_->touch(changed);
}

auth_result authenticator::check(const presented& p) {
  if (p.kind == presented::none) return {auth_result::missing, nullptr};
  if (p.kind == presented::malformed) return {auth_result::invalid, nullptr};
  if (!key_id_of(p.token).empty()) return check_key(p.token);
  if (jwt_ && looks_like_jwt(p.token)) return check_jwt(p.token);
  return {auth_result::invalid, nullptr};
}

auth_result authenticator::check_key(const std::string& token) {
  std::shared_ptr<const key_map> keys;
  {
    std::lock_guard lk(keys_mu_);
    keys = keys_;
  }
  const auto hash = sha256(token);
  const auto it = keys->find(std::string(key_id_of(token)));
  // The id is public; the secret part is decided by a constant-time compare of the hashes.
  if (it == keys->end() || it->second.hash.size() != hash.size() ||
      CRYPTO_memcmp(it->second.hash.data(), hash.data(), hash.size()) != 0)
    return {auth_result::invalid, nullptr};
  // Coarse (1 s) so that concurrent requests mostly read, not write, the shared line.
  const auto now = now_ms();
  auto& used = *it->second.used_ms;
  if (now - used.load(std::memory_order_relaxed) >= 1000)
    used.store(now, std::memory_order_relaxed);
  return {auth_result::ok, it->second.who};
}

auth_result authenticator::check_jwt(const std::string& token) {
  const auto h = sha256(token);
  const std::int64_t now = now_ms() / 1000;
  {
    std::lock_guard lk(jwt_mu_);
    if (const auto it = jwt_cache_.find(h); it != jwt_cache_.end()) {
      if (now > it->second.exp + jwt_verifier::skew_seconds) {
        jwt_lru_.erase(it->second.lru);
        jwt_cache_.erase(it);
        return {auth_result::invalid, nullptr};
      }
      jwt_lru_.splice(jwt_lru_.begin(), jwt_lru_, it->second.lru);
      return {auth_result::ok, it->second.who};
    }
  }
  const auto grant = jwt_->verify(token, now);
  if (!grant) return {auth_result::invalid, nullptr};
  auto p = std::make_shared<principal>();
  p->scopes = parse_scopes(grant->scope);
  if (grant->topics) {
    auto t = parse_topic_patterns(*grant->topics);
    if (!t) return {auth_result::invalid, nullptr};
    p->topics = std::move(*t);
    // An empty `topics` array grants no topic at all, not every topic.
    if (grant->topics->empty()) {
      p->topics.all = false;
    }
  }
  std::lock_guard lk(jwt_mu_);
  if (!jwt_cache_.contains(h)) {
    jwt_lru_.push_front(h);
    jwt_cache_.emplace(h, cached_jwt{p, grant->exp, jwt_lru_.begin()});
    if (jwt_cache_.size() > settings_.jwt_cache) {
      jwt_cache_.erase(jwt_lru_.back());
      jwt_lru_.pop_back();
    }
  }
  return {auth_result::ok, std::move(p)};
}

}  // namespace agg::auth
