#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace agg::auth {

// One API key as stored: never the key itself, only its SHA-256.
struct key_record {
  std::string id;    // printable, public: the part of the key between "agg_" and "_"
  std::string name;  // who or what the key is for
  std::string hash;  // SHA-256 of the whole key, 32 raw bytes
  std::uint8_t scopes = 0;
  std::string topics;     // comma-separated patterns; "" = every topic
  std::string created;    // RFC 3339 UTC
  std::string last_used;  // "" = never
  std::string revoked;    // "" = live
};

// The keys table, in the same store as the events (SQLite file or PostgreSQL database), next to
// a one-row generation counter that every add and revoke bumps in the same transaction: the
// cheap change marker running nodes poll. Every call may throw std::runtime_error with one line
// (the database unreachable, a foreign file); a running node then keeps the keys it has.
// One thread at a time.
class key_store {
 public:
  // `db` as --db. Creates the keys tables when missing, and with `events_schema` first the
  // events schema when the store is new (the keys command: a node started later must find its
  // own file, not a foreign one); a node has opened its store already.
  static std::unique_ptr<key_store> open(const std::string& db, bool events_schema);
  virtual ~key_store() = default;

  virtual std::int64_t generation() = 0;
  virtual std::vector<key_record> load() = 0;  // every key, revoked ones included, by created
  virtual void add(const key_record& k) = 0;
  // Marks `id` revoked at `when`; false when there is no such key (or it was revoked already).
  virtual bool revoke(const std::string& id, const std::string& when) = 0;
  // Saves last-used times (id, RFC 3339) gathered in memory; does not bump the generation.
  virtual void touch(const std::vector<std::pair<std::string, std::string>>& last_used) = 0;
};

}  // namespace agg::auth
