// bench-pg-append: the PostgreSQL ceiling for the aggregator's schema. Inserts the events
// agg-load sends (same topics, keys, timestamps and payload sizes, all new) into a table
// shaped like agg_events (seq primary key, UNIQUE(topic, event_id), (topic, seq) index) the
// way the store does, without HTTP or dedup decisions: per transaction of --txn rows, lock a
// counter row, one INSERT ... SELECT FROM unnest(arrays) numbered base + 1, ..., update the
// counter, COMMIT (synchronous_commit on). Whatever the service reaches on PostgreSQL is
// measured against this number.
//
// usage: bench-pg-append --db postgresql://... [--events N] [--txn N] [--connections C]
//                        [--topics T] [--payload-bytes S] [--seed X]
// Prints one JSON object on stdout: events, elapsed_s, events_per_s, txn, connections.

#include "event_gen.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct options {
  std::string db;                   // --db: a PostgreSQL URI (required); the tables are
                                    //   dropped and made again
  std::uint64_t events = 200'000;   // --events: rows to insert. Default 200,000.
  std::uint64_t txn = 1000;         // --txn: rows per transaction. Default 1000.
  unsigned connections = 1;         // --connections: parallel loaders. Default 1.
  std::size_t topics = 8;           // --topics. Default 8.
  std::size_t payload_bytes = 200;  // --payload-bytes. Default 200.
  std::uint64_t seed = 1;           // --seed: key space. Default 1.
};

void must(PGconn* c, PGresult* r) {
  const auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    const std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error(msg.empty() ? PQerrorMessage(c) : msg);
  }
  PQclear(r);
}

PGconn* connect(const std::string& uri) {
  PGconn* c = PQconnectdb(uri.c_str());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
  must(c, PQexec(c, "SET synchronous_commit = on; SET client_min_messages = warning"));
  return c;
}

void element(std::string& out, std::string_view s) {
  if (out.size() > 1) out += ',';
  out += '"';
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
}

// Inserts events [from, to) in transactions of `txn`.
void load(const options& o, std::uint64_t from, std::uint64_t to) {
  PGconn* c = connect(o.db);
  agg_bench::event_generator gen({o.seed, o.topics, o.payload_bytes});
  std::string topics, ids, tss, payloads, scratch;
  for (std::uint64_t first = from; first < to; first += o.txn) {
    const std::uint64_t last = std::min(to, first + o.txn);
    topics = ids = tss = payloads = "{";
    for (std::uint64_t i = first; i < last; ++i) {
      element(topics, gen.topic(i));
      scratch.clear();
      gen.append_event_id(scratch, i);
      element(ids, scratch);
      scratch.clear();
      gen.append_timestamp(scratch, i);
      element(tss, scratch);
      scratch.clear();
      gen.append_payload(scratch, i);
      element(payloads, scratch);
    }
    for (auto* s : {&topics, &ids, &tss, &payloads}) *s += '}';
    must(c, PQexec(c, "BEGIN"));
    must(c, PQexec(c, "SELECT last_seq FROM bench_counter WHERE id = 1 FOR UPDATE"));
    const char* p[] = {topics.c_str(), ids.c_str(), tss.c_str(), payloads.c_str()};
    must(c,
         PQexecParams(c,
                      "WITH base AS (SELECT last_seq FROM bench_counter WHERE id = 1), "
                      "ins AS (INSERT INTO bench_events SELECT base.last_seq + u.n, u.t, u.i, "
                      "u.ts, 'agg-load', u.p, now()::text, 0 FROM base, unnest($1::text[], "
                      "$2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(t, i, ts, p, n) "
                      "RETURNING 1) "
                      "UPDATE bench_counter SET last_seq = last_seq + (SELECT count(*) FROM ins) "
                      "WHERE id = 1",
                      4, nullptr, p, nullptr, nullptr, 0));
    must(c, PQexec(c, "COMMIT"));
  }
  PQfinish(c);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(std::string(a) + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--db")
        o.db = next();
      else if (a == "--events")
        o.events = std::stoull(next());
      else if (a == "--txn")
        o.txn = std::stoull(next());
      else if (a == "--connections")
        o.connections = static_cast<unsigned>(std::stoul(next()));
      else if (a == "--topics")
        o.topics = std::stoull(next());
      else if (a == "--payload-bytes")
        o.payload_bytes = std::stoull(next());
      else if (a == "--seed")
        o.seed = std::stoull(next());
      else
        throw std::runtime_error("unknown option " + std::string(a));
    } catch (const std::exception& e) {
      std::cerr << "bench-pg-append: " << e.what() << "\n";
      return 2;
    }
  }
  if (o.db.empty() || o.txn == 0 || o.connections == 0) {
    std::cerr << "bench-pg-append: --db postgresql://... is required\n";
    return 2;
  }
  try {
    PGconn* c = connect(o.db);
    must(c, PQexec(c,
                   "DROP TABLE IF EXISTS bench_events, bench_counter; "
                   "CREATE TABLE bench_events(seq bigint PRIMARY KEY, topic text NOT NULL, "
                   "event_id text NOT NULL, timestamp text NOT NULL, source text NOT NULL, "
                   "payload text NOT NULL, received_at text NOT NULL, content_hash bigint NOT "
                   "NULL, UNIQUE (topic, event_id)); "
                   "CREATE INDEX ON bench_events(topic, seq); "
                   "CREATE TABLE bench_counter(id int PRIMARY KEY, last_seq bigint NOT NULL); "
                   "INSERT INTO bench_counter VALUES (1, 0)"));
    PQfinish(c);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    std::vector<std::string> errors(o.connections);
    const std::uint64_t share = (o.events + o.connections - 1) / o.connections;
    for (unsigned k = 0; k < o.connections; ++k)
      threads.emplace_back([&, k] {
        try {
          load(o, std::min(o.events, k * share), std::min(o.events, (k + 1) * share));
        } catch (const std::exception& e) {
          errors[k] = e.what();
        }
      });
    for (auto& t : threads) t.join();
    for (const auto& e : errors)
      if (!e.empty()) throw std::runtime_error(e);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "bench-pg-append: %llu rows in %.2f s: %.0f rows/s\n",
                 static_cast<unsigned long long>(o.events), s, static_cast<double>(o.events) / s);
    std::printf(
        "{\"events\":%llu,\"elapsed_s\":%.3f,\"events_per_s\":%.0f,\"txn\":%llu,"
        "\"connections\":%u}\n",
        static_cast<unsigned long long>(o.events), s, static_cast<double>(o.events) / s,
        static_cast<unsigned long long>(o.txn), o.connections);
  } catch (const std::exception& e) {
    std::cerr << "bench-pg-append: " << e.what() << "\n";
    return 1;
  }
}
