// bench-sqlite-append: the storage ceiling. Appends the events agg-load sends (same
// topics, keys, timestamps and payload sizes) to a plain SQLite rowid table in WAL mode
// with one prepared statement, in transactions of --txn rows. No unique index, no
// dedup, no HTTP: whatever the service reaches is measured against this number.

#include "cli.hpp"
#include "event_gen.hpp"

#include <sqlite3.h>

#include <unistd.h>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <string_view>

namespace {

// Options. Each says its effect and default; --help prints the same text.
struct options {
  std::uint64_t events = 1'000'000;  // --events: rows to append. Default 1,000,000.
  std::uint64_t txn = 1000;          // --txn: rows per transaction. Default 1000.
  std::size_t topics = 8;            // --topics: topics the events spread over. Default 8.
  std::size_t payload_bytes = 200;   // --payload-bytes: size of each payload. Default 200.
  std::string sync = "normal";  // --sync: PRAGMA synchronous (off|normal|full). Default normal.
  std::string db;               // --db: database file; kept afterwards. Default: a
                                //   fresh file in a temp folder, removed at the end.
  std::uint64_t seed = 0;       // --seed: key space. Default random.
};

constexpr const char* usage_text =
    R"(bench-sqlite-append: raw SQLite append rate (the storage ceiling)

usage: bench-sqlite-append [options]

  --events N         rows to append (default 1000000)
  --txn N            rows per transaction (default 1000)
  --topics T         topics the events spread over (default 8)
  --payload-bytes S  size of each event's payload JSON (default 200)
  --sync MODE        PRAGMA synchronous: off, normal or full (default normal)
  --db PATH          database file, kept afterwards (default: a new file in a temp
                     folder, removed at the end)
  --seed X           key space seed (default random)
  --help             this text

Table: events(seq INTEGER PRIMARY KEY, topic, event_id, timestamp, source, payload,
received_at TEXT), journal_mode=WAL, one prepared INSERT.
Prints a readable line on stderr and the result as one JSON object on stdout
(events, elapsed_s, events_per_s, txn, sync, payload_bytes_avg, db_bytes).
)";

// This tool's name in usage errors.
constexpr std::string_view tool = "bench-sqlite-append";

[[noreturn]] void usage_error(const std::string& msg) {
  agg_bench::usage_error(tool, msg);
}

template <class T>
T parse_number(std::string_view name, std::string_view text) {
  return agg_bench::parse_number<T>(tool, name, text);
}

options parse_options(int argc, char** argv) {
  options o;
  o.seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage_error("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_text;
      std::exit(0);
    } else if (arg == "--events")
      o.events = parse_number<std::uint64_t>(arg, next());
    else if (arg == "--txn")
      o.txn = parse_number<std::uint64_t>(arg, next());
    else if (arg == "--topics")
      o.topics = parse_number<std::size_t>(arg, next());
    else if (arg == "--payload-bytes")
      o.payload_bytes = parse_number<std::size_t>(arg, next());
    else if (arg == "--sync")
      o.sync = next();
    else if (arg == "--db")
      o.db = next();
    else if (arg == "--seed")
      o.seed = parse_number<std::uint64_t>(arg, next());
    else
      usage_error("unknown option " + arg);
  }
  if (o.events < 1 || o.txn < 1 || o.topics < 1)
    usage_error("--events, --txn and --topics must be >= 1");
  if (o.sync != "off" && o.sync != "normal" && o.sync != "full")
    usage_error("--sync must be off, normal or full");
  return o;
}

// Every sqlite3 call goes through here: a failure ends the benchmark with the reason.
void check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  std::cerr << "bench-sqlite-append: " << what << ": "
            << (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) << "\n";
  std::exit(1);
}

void exec(sqlite3* db, const std::string& sql) {
  check(db, sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), sql.c_str());
}

// UTC now as 2026-11-24T10:15:00.123Z, the form the service stores in received_at.
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // 24 used; room for any int the format could print
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const options opts = parse_options(argc, argv);
  namespace fs = std::filesystem;

  fs::path dir;
  fs::path path = opts.db;
  if (path.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "bench-sqlite-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("bench-sqlite-append: mkdtemp");
      return 1;
    }
    dir = tmpl;
    path = dir / "append.db";
  }

  sqlite3* db = nullptr;
  check(nullptr, sqlite3_open(path.c_str(), &db), "open");
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=" + opts.sync);
  exec(db,
       "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, event_id "
       "TEXT NOT NULL,"
       " timestamp TEXT NOT NULL, source TEXT NOT NULL, payload TEXT NOT NULL, received_at TEXT "
       "NOT NULL)");

  sqlite3_stmt* insert = nullptr;
  check(db,
        sqlite3_prepare_v3(
            db,
            "INSERT INTO events(topic, event_id, timestamp, source, payload, received_at)"
            " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr),
        "prepare insert");

  agg_bench::event_shape shape;
  shape.seed = opts.seed;
  shape.topics = opts.topics;
  shape.payload_bytes = opts.payload_bytes;
  const agg_bench::event_generator gen(shape);

  std::string id, ts, payload, received_at = utc_now();
  std::uint64_t payload_total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_print = t0;
  for (std::uint64_t i = 0; i < opts.events; ++i) {
    if (i % opts.txn == 0) {
      exec(db, "BEGIN");
      received_at = utc_now();  // one arrival time per transaction, as a group commit has
    }
    id.clear();
    ts.clear();
    payload.clear();
    gen.append_event_id(id, i);
    gen.append_timestamp(ts, i);
    gen.append_payload(payload, i);
    payload_total += payload.size();
    const std::string& topic = gen.topic(i);
    const auto src = agg_bench::event_generator::source();
    check(db,
          sqlite3_bind_text(insert, 1, topic.data(), static_cast<int>(topic.size()), SQLITE_STATIC),
          "bind");
    check(db, sqlite3_bind_text(insert, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC),
          "bind");
    check(db, sqlite3_bind_text(insert, 3, ts.data(), static_cast<int>(ts.size()), SQLITE_STATIC),
          "bind");
    check(db, sqlite3_bind_text(insert, 4, src.data(), static_cast<int>(src.size()), SQLITE_STATIC),
          "bind");
    check(db,
          sqlite3_bind_text(insert, 5, payload.data(), static_cast<int>(payload.size()),
                            SQLITE_STATIC),
          "bind");
    check(db,
          sqlite3_bind_text(insert, 6, received_at.data(), static_cast<int>(received_at.size()),
                            SQLITE_STATIC),
          "bind");
    check(db, sqlite3_step(insert), "insert");
    check(db, sqlite3_reset(insert), "reset");
    if ((i + 1) % opts.txn == 0 || i + 1 == opts.events) {
      exec(db, "COMMIT");
      const auto now = std::chrono::steady_clock::now();
      if (now - last_print >= std::chrono::seconds(1)) {
        const double el = std::chrono::duration<double>(now - t0).count();
        std::cerr << "progress: " << (i + 1) << "/" << opts.events << " rows, "
                  << static_cast<std::uint64_t>(static_cast<double>(i + 1) / el) << " rows/s\n";
        last_print = now;
      }
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  check(db, sqlite3_finalize(insert), "finalize");
  check(db, sqlite3_close(db), "close");

  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    const auto sz = fs::file_size(path.string() + suffix, ec);
    if (!ec) bytes += sz;
  }
  if (!dir.empty()) fs::remove_all(dir, ec);

  const double eps = static_cast<double>(opts.events) / elapsed;
  // A readable line on stderr; the result as one JSON object on stdout (every value
  // is a number or one of the three --sync words, so printf writes valid JSON).
  std::fprintf(
      stderr,
      "bench-sqlite-append: %llu rows (avg payload %.0f B) in %.3f s, transactions of %llu, "
      "synchronous=%s\n  %.0f events/s, database %.1f MB\n",
      static_cast<unsigned long long>(opts.events),
      static_cast<double>(payload_total) / static_cast<double>(opts.events), elapsed,
      static_cast<unsigned long long>(opts.txn), opts.sync.c_str(), eps,
      static_cast<double>(bytes) / 1e6);
  std::printf(
      "{\"tool\":\"bench-sqlite-append\",\"events\":%llu,\"elapsed_s\":%.6f,\"events_per_s\":%.1f,"
      "\"txn\":%llu,\"sync\":\"%s\",\"payload_bytes_avg\":%.1f,\"db_bytes\":%llu}\n",
      static_cast<unsigned long long>(opts.events), elapsed, eps,
      static_cast<unsigned long long>(opts.txn), opts.sync.c_str(),
      static_cast<double>(payload_total) / static_cast<double>(opts.events),
      static_cast<unsigned long long>(bytes));
  return 0;
}
