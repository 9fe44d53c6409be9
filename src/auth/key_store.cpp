#include "auth/key_store.hpp"

#include "store/pg_connection.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_writer.hpp"
#include "store/statement.hpp"

#include <stdexcept>

namespace agg::auth {
namespace {

// --- SQLite -----------------------------------------------------------------------------------

constexpr const char* sqlite_schema = R"sql(
CREATE TABLE IF NOT EXISTS api_keys(
  id        TEXT PRIMARY KEY,   -- public, printable; part of the key
  name      TEXT NOT NULL,
  hash      BLOB NOT NULL,      -- SHA-256 of the key: the key itself is never stored
  scopes    INTEGER NOT NULL,   -- bits: 1 publish, 2 read, 4 admin
  topics    TEXT NOT NULL,      -- comma-separated patterns, '' = every topic
  created   TEXT NOT NULL,
  last_used TEXT,               -- flushed every few seconds by the nodes, not per request
  revoked   TEXT
);
-- Bumped with every add and revoke: running nodes poll this one row to reload the keys.
CREATE TABLE IF NOT EXISTS api_key_generation(id INTEGER PRIMARY KEY CHECK (id = 1),
                                              generation INTEGER NOT NULL);
INSERT OR IGNORE INTO api_key_generation VALUES (1, 0);
)sql";

class sqlite_key_store final : public key_store {
 public:
  sqlite_key_store(const std::string& path, bool events_schema) : path_(path) {
    // The events schema first: a keys table alone would make the file look foreign to a node.
    if (events_schema) store::sqlite_writer::open(path, sync_mode::normal).reset();
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open --db " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);  // the node's writer commits briefly; wait, do not fail
    run(sqlite_schema);
  }
  ~sqlite_key_store() override { sqlite3_close(db_); }

  std::int64_t generation() override {
    store::statement s(db_, "SELECT generation FROM api_key_generation WHERE id = 1");
    step(s, "read the keys' generation");
    return s.column_int(0);
  }

  std::vector<key_record> load() override {
    std::vector<key_record> out;
    store::statement s(db_,
                       "SELECT id, name, hash, scopes, topics, created, ifnull(last_used, ''), "
                       "ifnull(revoked, '') FROM api_keys ORDER BY created, id");
    for (;;) {
      const int rc = s.step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw std::runtime_error(error("read the keys"));
      key_record k;
      k.id = s.column_text(0);
      k.name = s.column_text(1);
      k.hash = s.column_blob(2);
      k.scopes = static_cast<std::uint8_t>(s.column_int(3));
      k.topics = s.column_text(4);
      k.created = s.column_text(5);
      k.last_used = s.column_text(6);
      k.revoked = s.column_text(7);
      out.push_back(std::move(k));
    }
    return out;
  }

  void add(const key_record& k) override {
    run("BEGIN IMMEDIATE");
    try {
      store::statement s(db_,
                         "INSERT INTO api_keys(id, name, hash, scopes, topics, created) "
                         "VALUES (?, ?, ?, ?, ?, ?)");
      s.bind(1, k.id);
      s.bind(2, k.name);
      s.bind_blob(3, k.hash);
      s.bind(4, std::int64_t{k.scopes});
      s.bind(5, k.topics);
      s.bind(6, k.created);
      step(s, "add the key");
      run("UPDATE api_key_generation SET generation = generation + 1 WHERE id = 1; COMMIT");
    } catch (...) {
      store::exec(db_, "ROLLBACK", nullptr);
      throw;
    }
  }

  bool revoke(const std::string& id, const std::string& when) override {
    run("BEGIN IMMEDIATE");
    try {
      store::statement s(db_, "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL");
      s.bind(1, when);
      s.bind(2, id);
      step(s, "revoke the key");
      const bool changed = sqlite3_changes(db_) == 1;
      run("UPDATE api_key_generation SET generation = generation + 1 WHERE id = 1; COMMIT");
      return changed;
    } catch (...) {
      store::exec(db_, "ROLLBACK", nullptr);
      throw;
    }
  }

  void touch(const std::vector<std::pair<std::string, std::string>>& last_used) override {
    if (last_used.empty()) return;
    run("BEGIN IMMEDIATE");
    try {
      store::statement s(db_, "UPDATE api_keys SET last_used = ? WHERE id = ?");
      for (const auto& [id, when] : last_used) {
        s.bind(1, when);
        s.bind(2, id);
        step(s, "save last-used times");
        s.reset();
      }
      run("COMMIT");
    } catch (...) {
      store::exec(db_, "ROLLBACK", nullptr);
      throw;
    }
  }

 private:
  std::string error(const char* what) const {
    return std::string("cannot ") + what + " in --db " + path_ + ": " + sqlite3_errmsg(db_);
  }
  void run(const char* sql) {
    std::string msg;
    if (store::exec(db_, sql, &msg)) throw std::runtime_error("--db " + path_ + ": " + msg);
  }
  void step(store::statement& s, const char* what) {
    const int rc = s.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw std::runtime_error(error(what));
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

// --- PostgreSQL -------------------------------------------------------------------------------

constexpr const char* pg_schema = R"sql(
CREATE TABLE IF NOT EXISTS agg_api_keys(
  id        text PRIMARY KEY,
  name      text NOT NULL,
  hash      bytea NOT NULL,
  scopes    int NOT NULL,
  topics    text NOT NULL,
  created   text NOT NULL,
  last_used text,
  revoked   text);
COMMENT ON TABLE agg_api_keys IS 'Event Aggregator: API keys, only their SHA-256; scopes bits 1 publish, 2 read, 4 admin';
CREATE TABLE IF NOT EXISTS agg_api_key_generation(id int PRIMARY KEY CHECK (id = 1),
                                                  generation bigint NOT NULL);
COMMENT ON TABLE agg_api_key_generation IS 'Event Aggregator: bumped by every key add and revoke; nodes poll it';
INSERT INTO agg_api_key_generation VALUES (1, 0) ON CONFLICT DO NOTHING;
)sql";

std::string to_hex(const std::string& b) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s = "\\x";
  for (const char c : b) {
    s.push_back(d[(static_cast<unsigned char>(c) >> 4) & 15]);
    s.push_back(d[static_cast<unsigned char>(c) & 15]);
  }
  return s;
}

std::string from_hex(std::string_view s) {
  if (s.starts_with("\\x")) s.remove_prefix(2);
  auto v = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<char>(v(s[i]) * 16 + v(s[i + 1])));
  return out;
}

class pg_key_store final : public key_store {
 public:
  pg_key_store(const std::string& uri, bool events_schema) : uri_(uri) {
    // The events schema first (agg_meta), as the first node would create it.
    if (events_schema) store::pg_store::open(uri, {})->close();
    auto& c = conn();
    // (client_min_messages: no "already exists, skipping" notice on standard error.)
    if (!c.run("BEGIN") || !c.run("SET LOCAL client_min_messages = warning") ||
        !c.run("SELECT pg_advisory_xact_lock(1095190322)") || !c.run(pg_schema) || !c.run("COMMIT"))
      failed("create the keys tables");
  }

  std::int64_t generation() override {
    auto r = conn().exec("SELECT generation FROM agg_api_key_generation WHERE id = 1");
    if (!r || PQntuples(r.get()) != 1) failed("read the keys' generation");
    return std::stoll(PQgetvalue(r.get(), 0, 0));
  }

  std::vector<key_record> load() override {
    auto r = conn().exec(
        "SELECT id, name, hash, scopes, topics, created, coalesce(last_used, ''), "
        "coalesce(revoked, '') FROM agg_api_keys ORDER BY created, id");
    if (!r) failed("read the keys");
    std::vector<key_record> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      key_record k;
      k.id = PQgetvalue(r.get(), i, 0);
      k.name = PQgetvalue(r.get(), i, 1);
      k.hash = from_hex(PQgetvalue(r.get(), i, 2));
      k.scopes = static_cast<std::uint8_t>(std::stoi(PQgetvalue(r.get(), i, 3)));
      k.topics = PQgetvalue(r.get(), i, 4);
      k.created = PQgetvalue(r.get(), i, 5);
      k.last_used = PQgetvalue(r.get(), i, 6);
      k.revoked = PQgetvalue(r.get(), i, 7);
      out.push_back(std::move(k));
    }
    return out;
  }

  void add(const key_record& k) override {
    const std::string hash = to_hex(k.hash), scopes = std::to_string(k.scopes);
    auto& c = conn();
    if (!c.run("BEGIN") ||
        !c.run("INSERT INTO agg_api_keys(id, name, hash, scopes, topics, created) "
               "VALUES ($1, $2, $3::bytea, $4::int, $5, $6)",
               {k.id.c_str(), k.name.c_str(), hash.c_str(), scopes.c_str(), k.topics.c_str(),
                k.created.c_str()}) ||
        !c.run("UPDATE agg_api_key_generation SET generation = generation + 1") ||
        !c.run("COMMIT")) {
      c.rollback();
      failed("add the key");
    }
  }

  bool revoke(const std::string& id, const std::string& when) override {
    auto& c = conn();
    if (!c.run("BEGIN")) failed("revoke the key");
    auto r = c.exec("UPDATE agg_api_keys SET revoked = $1 WHERE id = $2 AND revoked IS NULL",
                    {when.c_str(), id.c_str()});
    if (!r || !c.run("UPDATE agg_api_key_generation SET generation = generation + 1") ||
        !c.run("COMMIT")) {
      c.rollback();
      failed("revoke the key");
    }
    return std::string_view(PQcmdTuples(r.get())) == "1";
  }

  void touch(const std::vector<std::pair<std::string, std::string>>& last_used) override {
    auto& c = conn();
    for (const auto& [id, when] : last_used)
      if (!c.run("UPDATE agg_api_keys SET last_used = $1 WHERE id = $2",
                 {when.c_str(), id.c_str()}))
        failed("save last-used times");
  }

 private:
  // The connection, made again after the server was lost.
  store::pg_connection& conn() {
    if (!c_ || c_->broken()) {
      std::string error;
      c_ = store::pg_connection::connect(uri_, {}, error);
      if (!c_)
        throw std::runtime_error("cannot reach --db " + store::redact_uri(uri_) + ": " + error);
    }
    return *c_;
  }
  [[noreturn]] void failed(const char* what) {
    const std::string why = c_ ? c_->error() : std::string("no connection");
    throw std::runtime_error(std::string("cannot ") + what + " in --db " + store::redact_uri(uri_) +
                             ": " + why);
  }

  std::string uri_;
  std::unique_ptr<store::pg_connection> c_;
};

}  // namespace

std::unique_ptr<key_store> key_store::open(const std::string& db, bool events_schema) {
  if (store::is_postgres_uri(db)) return std::make_unique<pg_key_store>(db, events_schema);
  return std::make_unique<sqlite_key_store>(db, events_schema);
}

}  // namespace agg::auth
