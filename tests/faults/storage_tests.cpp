// Storage faults: a full disk (a small tmpfs the test mounts), a read-only database, a corrupt
// file and a foreign SQLite database. A full disk makes writes fail (503 unavailable, /health
// 503 with the reason) while reads keep working and nothing acknowledged is lost; files the
// service cannot own make it exit non-zero with one clear line, leaving them untouched.
#define BOOST_TEST_DYN_LINK
#include "fault_support.hpp"

#include <sqlite3.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>

using namespace agg::test;
using namespace agg::test::faults;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

void sql(const fs::path& db, const std::string& statements) {
  sqlite3* h = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, statements.c_str(), nullptr, nullptr, &err);
  BOOST_TEST(rc == SQLITE_OK, (err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(h);
}

// The binary refuses `db`: exits non-zero (not by a signal or a timeout) with one line naming
// the file, and leaves the file byte for byte as it was.
void refuses(const fs::path& db, std::string_view what) {
  BOOST_TEST_CONTEXT(what) {
    const std::string before = read_bytes(db);
    const auto r = run_binary({"--host", "127.0.0.1", "--port", "0", "--db", db.string()}, 8s);
    std::string out = r.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    std::cout << what << ": " << r.exit.describe() << ": " << out << "\n";
    BOOST_TEST(r.exit.exited);
    BOOST_TEST(r.exit.code != 0);
    BOOST_TEST(out.find('\n') == std::string::npos, "one line: " << out);
    BOOST_TEST(out.find(db.string()) != std::string::npos, "names the file: " << out);
    BOOST_TEST(out.find("listening") == std::string::npos);
    BOOST_TEST((read_bytes(db) == before), "the file is unchanged");
    BOOST_TEST(!fs::exists(db.string() + "-wal"));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(storage)

BOOST_AUTO_TEST_CASE(disk_full_then_restart_with_space) {
  temp_dir dir("agg-faults-");
  tmpfs_mount disk(dir.path() / "disk", "2m");
  if (!disk.ok()) {
    BOOST_TEST_MESSAGE("SKIPPED disk_full_then_restart_with_space: " << disk.why());
    return;
  }
  server_config cfg;
  cfg.args = {"--db", (disk.dir() / "events.db").string()};
  server_process srv(cfg);
  log_on_failure guard(srv);
  auto c = make_client(srv);

  std::set<event_key> acked, sent;
  http_response refused;
  int requests = 0;
  for (; requests < 2000; ++requests) {
    std::vector<json::object> events;
    std::vector<event_key> keys;
    for (int i = 0; i < 4; ++i) {
      keys.emplace_back("disk." + std::to_string(i % 2),
                        "r" + std::to_string(requests) + "-" + std::to_string(i));
      events.push_back(padded_event(keys.back().first, keys.back().second, 2000));
    }
    sent.insert(keys.begin(), keys.end());
    auto r = c.post_json("/publish", array_body(events));
    if (r.status == 200) {
      acked.insert(keys.begin(), keys.end());
      continue;
    }
    refused = std::move(r);
    break;
  }
  std::cout << "disk full after " << requests << " requests, " << acked.size()
            << " events acknowledged\n";
  BOOST_TEST_REQUIRE(refused.status != 0u, "the 2 MiB disk filled up");
  check_error(refused, 503, "unavailable");
  // Sticky: later writes are refused too, reads keep working, /health says why.
  check_error(c.post_json("/publish", single_body(make_event("disk.0", "after-full"))), 503,
              "unavailable");
  const auto health = c.get("/health");
  BOOST_TEST(health.status == 503u);
  BOOST_TEST_CONTEXT("health " << health.body) {
    const auto h = as_object(health.json());
    BOOST_TEST(as_string(at(h, "status")) != "ok");
    BOOST_TEST(!as_string(at(h, "reason")).empty());
  }
  BOOST_TEST(c.get("/stats").status == 200u);
  BOOST_TEST(c.get("/events?limit=5").status == 200u);
  check_store_consistent(c, acked, &sent);

  const auto stopped = srv.terminate();
  std::cout << "SIGTERM with a full disk: " << stopped.describe() << "\n";
  BOOST_TEST(!stopped.timed_out);

  // More space, same files: the service carries on where it was.
  BOOST_TEST_REQUIRE(disk.resize("64m"));
  srv.start();
  auto c2 = make_client(srv);
  BOOST_TEST(c2.get("/health").status == 200u);
  const auto before = check_store_consistent(c2, acked, &sent);
  const auto r = c2.post_json("/publish", single_body(make_event("disk.0", "after-restart")));
  BOOST_TEST(r.status == 200u, r.body);
  acked.insert({"disk.0", "after-restart"});
  sent.insert({"disk.0", "after-restart"});
  const auto after = check_store_consistent(c2, acked, &sent);
  BOOST_TEST(after.size() == before.size() + 1);
  BOOST_TEST(sanitizer_report(srv.all_logs()) == "");
  srv.terminate();
}

BOOST_AUTO_TEST_CASE(read_only_database_is_never_acknowledged) {
  server_process srv;
  log_on_failure guard(srv);
  {
    auto c = make_client(srv);
    for (int i = 0; i < 3; ++i)
      BOOST_TEST(c.post_json("/publish", single_body(make_event("ro", std::to_string(i)))).status ==
                 200u);
  }
  BOOST_TEST(srv.terminate().clean());
  // root ignores file modes, so a read-only bind mount of the folder makes it unwritable.
  const fs::path ro = srv.dir().parent_path() / (srv.dir().filename().string() + "-ro");
  fs::create_directories(ro);
  if (::mount(srv.dir().c_str(), ro.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    BOOST_TEST_MESSAGE("SKIPPED read_only_database: bind mount: " << std::strerror(errno));
    fs::remove(ro);
    return;
  }
  struct unmount {
    fs::path p;
    ~unmount() {
      ::umount2(p.c_str(), MNT_DETACH);
      std::error_code ec;
      fs::remove(p, ec);
    }
  } cleanup{ro};
  if (::mount(nullptr, ro.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    BOOST_TEST_MESSAGE("SKIPPED read_only_database: read-only remount: " << std::strerror(errno));
    return;
  }
  const fs::path db = ro / "events.db";
  const std::string before = read_bytes(db);
  server_config cfg;
  cfg.args = {"--db", db.string()};
  cfg.start_timeout = 10s;
  try {
    server_process ro_srv(cfg);
    // It started: then it must serve reads and refuse every write, and say so in /health.
    log_on_failure guard2(ro_srv);
    auto c = make_client(ro_srv);
    const auto r = c.post_json("/publish", single_body(make_event("ro", "new")));
    std::cout << "read-only db: started; publish answered " << r.status << " " << r.body << "\n";
    BOOST_TEST(r.status == 503u, "a write to a read-only database is never acknowledged");
    const auto health = c.get("/health");
    std::cout << "read-only db: /health " << health.status << " " << health.body << "\n";
    BOOST_TEST(health.status == 503u);
    BOOST_TEST(fetch_all_events(c).size() == 3u);
  } catch (const std::exception& e) {
    // It refused to start: the error names the file, in one line.
    std::string msg = e.what();
    std::cout << "read-only db: refused to start: " << msg.substr(0, 600) << "\n";
    BOOST_TEST(msg.find("events.db") != std::string::npos);
  }
  BOOST_TEST((read_bytes(db) == before), "the read-only file is unchanged");
}

BOOST_AUTO_TEST_CASE(corrupt_files_are_refused_and_left_untouched) {
  temp_dir dir("agg-faults-");
  const auto random_file = dir.path() / "random.db";
  write_bytes(random_file, random_bytes(64 * 1024, 1));
  refuses(random_file, "64 KiB of random bytes");

  const auto fake_header = dir.path() / "fake-header.db";
  write_bytes(fake_header, std::string("SQLite format 3\0", 16) + random_bytes(8192 - 16, 2));
  refuses(fake_header, "SQLite header then random bytes");

  const auto text = dir.path() / "text.db";
  write_bytes(text, "this is not a database\n");
  refuses(text, "a text file");
}

BOOST_AUTO_TEST_CASE(foreign_sqlite_databases_are_refused_and_left_untouched) {
  temp_dir dir("agg-faults-");
  const auto users = dir.path() / "users.db";
  sql(users,
      "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); "
      "INSERT INTO users(name) VALUES ('ada'), ('grace');");
  refuses(users, "a foreign database with a table");

  const auto other_app = dir.path() / "other-app.db";
  sql(other_app, "PRAGMA application_id = 1234; PRAGMA user_version = 7;");
  refuses(other_app, "an empty database of another application_id");

  // Only a view and no table: still somebody else's file.
  const auto view_only = dir.path() / "view-only.db";
  sql(view_only, "CREATE VIEW answer AS SELECT 42 AS value;");
  refuses(view_only, "a foreign database with only a view");

  // Our own file of a newer schema is refused the same way.
  const auto newer = dir.path() / "newer.db";
  {
    server_config cfg;
    server_process srv(cfg);
    const auto stopped = srv.terminate();
    BOOST_TEST(stopped.clean(), stopped.describe() << "; log: " << srv.all_logs().substr(0, 3000));
    fs::copy_file(srv.db_path(), newer);
  }
  sql(newer, "PRAGMA user_version = 99;");
  refuses(newer, "our database with schema version 99");
}

BOOST_AUTO_TEST_SUITE_END()
