// --auth on: API keys made with `aggregator keys`, Bearer / Basic / access_token, JWT (HS256,
// RS256, ES256), scopes against every endpoint, topic patterns, revocation, the 401/403 table of
// CONTRACT.md, and that no key or token ever reaches the log. JWTs and their keys are made here
// with OpenSSL. Measured: the suite runs in ~4 s (Debug, 2 cores).
#define BOOST_TEST_DYN_LINK
#include "child_process.hpp"
#include "stream_client.hpp"
#include "test_support.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

using namespace agg::test;
using verb = boost::beast::http::verb;

namespace {

// Every key and token the suite made: none may appear in any server log.
std::set<std::string>& secrets() {
  static std::set<std::string> s;
  return s;
}

void check_no_secret_in(const server_process& srv) {
  const auto log = srv.all_logs();
  for (const auto& s : secrets())
    BOOST_TEST(log.find(s) == std::string::npos, "a secret is in the log");
}

// Runs `aggregator <args>`; returns (exit code, standard output).
std::pair<int, std::string> run_binary(const std::string& args) {
  // `timeout`: a server that wrongly starts does not hang the suite.
  return run_captured("timeout 20 " + std::string(AGG_BINARY) + " " + args + " 2>/dev/null");
}

std::string add_key(const std::string& db, const std::string& name, const std::string& scopes,
                    const std::string& topics = "") {
  auto [rc, out] = run_binary("keys add --db '" + db + "' --name " + name + " --scopes " + scopes +
                              (topics.empty() ? "" : " --topics '" + topics + "'"));
  BOOST_TEST_REQUIRE(rc == 0);
  BOOST_TEST_REQUIRE(out.size() == 65u);  // "agg_" + 16 + "_" + 43 + "\n"
  BOOST_TEST_REQUIRE(out.back() == '\n');
  out.pop_back();
  secrets().insert(out);
  return out;
}

header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string b64(std::string_view in, bool url) {
  static constexpr char std_alpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : in) {
    acc = (acc << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(std_alpha[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(std_alpha[(acc << (6 - bits)) & 63]);
  if (url) {
    for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  } else {
    while (out.size() % 4) out.push_back('=');
  }
  return out;
}

header_list basic(const std::string& user, const std::string& password) {
  return {{"Authorization", "Basic " + b64(user + ":" + password, false)}};
}

std::int64_t now_s() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// A signing key of the test: HS256 secret, or an RSA / EC key pair.
struct signer {
  std::string alg;
  std::string secret;       // HS256
  EVP_PKEY* key = nullptr;  // RS256 / ES256 (private)
  std::string public_pem;   // what the server gets

  static signer hs256(std::string s) { return {"HS256", std::move(s), nullptr, {}}; }
  static signer generated(const char* alg) {
    signer g;
    g.alg = alg;
    g.key = g.alg == "RS256" ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, g.key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    g.public_pem.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return g;
  }

  std::string sign(std::string_view input) const {
    if (alg == "HS256" || alg == "HS256-with-pem") {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned n = 0;
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &n);
      return std::string(reinterpret_cast<char*>(mac), n);
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    std::size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (alg != "ES256") return sig;
    // DER -> r || s, as JWS wants.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }

  // A token with header alg `header_alg` (default: the signer's) and these claims (JSON text).
  std::string token(const std::string& claims, std::string header_alg = "") const {
    if (header_alg.empty()) header_alg = alg == "HS256-with-pem" ? "HS256" : alg;
    const std::string input =
        b64(R"({"alg":")" + header_alg + R"(","typ":"JWT"})", true) + "." + b64(claims, true);
    const std::string t = header_alg == "none" ? input + "." : input + "." + b64(sign(input), true);
    secrets().insert(t);
    return t;
  }
};

std::string write_file(const temp_dir& dir, const std::string& name, const std::string& bytes) {
  const auto path = (dir.path() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string claims(const std::string& scope, std::int64_t exp, const std::string& extra = "") {
  return R"({"sub":"t","scope":")" + scope + R"(","exp":)" + std::to_string(exp) + extra + "}";
}

// The publish body of one event per topic.
std::string events_body(const std::vector<std::string>& topics, const std::string& id) {
  std::vector<json::object> evs;
  for (std::size_t i = 0; i < topics.size(); ++i)
    evs.push_back(make_event(topics[i], id + std::to_string(i)));
  return array_body(evs);
}

void expect_accepted(const http_response& r, std::int64_t n) {
  BOOST_TEST_REQUIRE(r.status == 200u, r.body);
  BOOST_TEST(as_int(at(as_object(r.json()), "accepted")) == n);
}

const header_list json_type{{"Content-Type", "application/json"}};

header_list with(header_list a, const header_list& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::int64_t rejected_invalid(http_client& c, const std::string& admin_key) {
  auto r = c.request(verb::get, "/stats", {}, bearer(admin_key));
  return as_int(at(as_object(at(as_object(r.json()), "rejected")), "invalid"));
}

// The keys of the fixtures, made once (each `keys add` is a process and a SQLite commit) in a
// template store that every fixture copies.
struct key_template {
  temp_dir dir{"agg-auth-keys-"};
  std::string db = (dir.path() / "events.db").string();
  std::string publish_key = add_key(db, "pub", "publish");
  std::string read_key = add_key(db, "reader", "read");
  std::string admin_key = add_key(db, "ops", "admin");
  std::string all_key = add_key(db, "all", "publish,read,admin");
  std::string orders_key = add_key(db, "orders", "publish,read", "order.*,user.created");
};

const key_template& keys_made() {
  static const key_template t;
  return t;
}

// A server with --auth on over a copy of the template store.
struct auth_fixture {
  const key_template& keys = keys_made();
  temp_dir dir{"agg-auth-"};
  std::string db = copy_db();
  std::string publish_key = keys.publish_key;
  std::string read_key = keys.read_key;
  std::string admin_key = keys.admin_key;
  std::string all_key = keys.all_key;
  std::string orders_key = keys.orders_key;
  server_process srv{server_config{.args = {"--auth", "on", "--log-level", "debug"}, .db = db}};

  std::string copy_db() const {
    const auto to = dir.path() / "events.db";
    std::filesystem::copy_file(keys.db, to);  // the keys commands checkpointed as they closed
    return to.string();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(off_by_default_everything_open) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  BOOST_TEST(c.post_json("/publish", single_body(make_event("a", "1"))).status == 200u);
  BOOST_TEST(c.get("/events").status == 200u);
  BOOST_TEST(c.get("/metrics").status == 200u);
}

BOOST_AUTO_TEST_CASE(keys_list_format_and_refusals) {
  temp_dir dir{"agg-auth-"};
  const auto db = (dir.path() / "events.db").string();
  const auto k = add_key(db, "billing", "read,publish", "user.created,order.*");
  auto [rc, out] = run_binary("keys list --db '" + db + "'");
  BOOST_TEST(rc == 0);
  // id name scopes topics created last_used revoked
  const std::regex line(
      "([0-9a-f]{16}) billing publish,read order\\.\\*,user\\.created "
      "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z - -\n");
  std::smatch m;
  BOOST_TEST_REQUIRE(std::regex_match(out, m, line), out);
  BOOST_TEST(k.substr(4, 16) == m[1].str());  // the printable id is part of the key
  BOOST_TEST(out.find(k.substr(21)) == std::string::npos);
  BOOST_TEST(run_binary("keys add --db '" + db + "' --name x --scopes write").first == 1);
  BOOST_TEST(run_binary("keys add --db '" + db + "' --name x --scopes read --topics 'a b'").first ==
             1);
  BOOST_TEST(run_binary("keys revoke --db '" + db + "' 0000000000000000").first == 1);
  BOOST_TEST(run_binary("keys revoke --db '" + db + "' " + m[1].str()).first == 0);
  out = run_binary("keys list --db '" + db + "'").second;
  BOOST_TEST(out.find(" - 20") != std::string::npos, out);  // revoked time, never used
  // Only the SHA-256 is stored: the key's secret part is nowhere in the file.
  std::ifstream f(db, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  BOOST_TEST(bytes.find(k.substr(21)) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(unauthenticated_is_401_everywhere_but_health_and_page) {
  auth_fixture fx;
  log_on_failure guard(fx.srv);
  auto c = make_client(fx.srv);
  const std::pair<verb, const char*> paths[] = {
      {verb::post, "/publish"},  {verb::get, "/events"}, {verb::get, "/events?wait=1"},
      {verb::get, "/subscribe"}, {verb::get, "/stats"},  {verb::get, "/metrics"},
      {verb::get, "/nope"},      {verb::post, "/stats"}, {verb::get, "/ui/../publish"}};
  for (const auto& [method, path] : paths) {
    BOOST_TEST_CONTEXT(path) {
      auto r = c.request(method, path, method == verb::post ? "{}" : "", json_type);
      check_error(r, 401, "unauthorized");
      BOOST_TEST(r.header("WWW-Authenticate").value_or("") == "Bearer realm=\"aggregator\"");
      BOOST_TEST(!r.keep_alive);  // answered, then closed: the body was never read
    }
  }
  // A credential that does not check out: error="invalid_token".
  const header_list bad[] = {
      bearer("agg_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
      bearer(fx.read_key + "x"),
      bearer("not a token"),
      {{"Authorization", "Token " + fx.read_key}},
      {{"Authorization", "Bearer"}},
      basic(fx.read_key, "secret"),  // Basic with a password
      {{"Authorization", "Basic !!!"}},
      bearer("a.b.c")};  // no --jwt-key: no JWT is valid
  for (const auto& h : bad) {
    auto r = c.request(verb::get, "/stats", {}, h);
    check_error(r, 401, "unauthorized");
    BOOST_TEST(r.header("WWW-Authenticate").value_or("") ==
               "Bearer realm=\"aggregator\", error=\"invalid_token\"");
  }
  // Open: /health and the live page.
  for (const char* path : {"/health", "/", "/ui/app.js", "/ui/index.html"})
    BOOST_TEST(c.get(path).status == 200u, path);
  // Authenticated: an unknown path is 404, a wrong method 405; Basic with the key as user.
  BOOST_TEST(c.request(verb::get, "/nope", {}, bearer(fx.all_key)).status == 404u);
  BOOST_TEST(c.request(verb::delete_, "/stats", {}, bearer(fx.all_key)).status == 405u);
  BOOST_TEST(c.request(verb::get, "/stats", {}, basic(fx.read_key, "")).status == 200u);
  BOOST_TEST(
      c.request(verb::get, "/stats", {}, {{"Authorization", "bearer " + fx.read_key}}).status ==
      200u);
  // 401s and 403s count as rejected.invalid and in agg_requests_total.
  const auto before = rejected_invalid(c, fx.admin_key);
  c.request(verb::get, "/stats", {}, {});
  c.request(verb::get, "/metrics", {}, bearer(fx.read_key));
  BOOST_TEST(rejected_invalid(c, fx.admin_key) == before + 2);
  const auto m = c.request(verb::get, "/metrics", {}, bearer(fx.admin_key)).body;
  BOOST_TEST(m.find("agg_requests_total{route=\"stats\",code=\"401\"}") != std::string::npos);
  BOOST_TEST(m.find("agg_requests_total{route=\"metrics\",code=\"403\"}") != std::string::npos);
  fx.srv.terminate();
  check_no_secret_in(fx.srv);
}

BOOST_AUTO_TEST_CASE(each_scope_against_each_endpoint) {
  auth_fixture fx;
  log_on_failure guard(fx.srv);
  auto c = make_client(fx.srv);
  const std::string body = single_body(make_event("order.paid", "s1"));
  struct row {
    const std::string* key;
    unsigned publish, events, subscribe, stats, metrics;
  };
  const row rows[] = {{&fx.publish_key, 200, 403, 403, 403, 403},
                      {&fx.read_key, 403, 200, 200, 200, 403},
                      {&fx.admin_key, 403, 200, 200, 200, 200},
                      {&fx.all_key, 200, 200, 200, 200, 200}};
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("key " << r.key->substr(0, 20)) {
      BOOST_TEST(c.request(verb::post, "/publish", body, with(json_type, bearer(*r.key))).status ==
                 r.publish);
      BOOST_TEST(c.request(verb::get, "/events", {}, bearer(*r.key)).status == r.events);
      BOOST_TEST(c.request(verb::get, "/stats", {}, bearer(*r.key)).status == r.stats);
      BOOST_TEST(c.request(verb::get, "/metrics", {}, bearer(*r.key)).status == r.metrics);
      if (r.subscribe == 403) {
        check_error(c.request(verb::get, "/subscribe", {}, bearer(*r.key)), 403, "forbidden");
      } else {
        http_stream s(fx.srv.host(), fx.srv.port(), "/subscribe?after=0", false, bearer(*r.key));
        BOOST_TEST(s.status() == 200u);
      }
      BOOST_TEST(c.request(verb::get, "/health", {}, bearer(*r.key)).status == 200u);
    }
  }
  fx.srv.terminate();
  check_no_secret_in(fx.srv);
}

BOOST_AUTO_TEST_CASE(topic_patterns) {
  auth_fixture fx;
  log_on_failure guard(fx.srv);
  auto c = make_client(fx.srv);
  const auto as_orders = with(json_type, bearer(fx.orders_key));
  const auto as_all = with(json_type, bearer(fx.all_key));
  // Allowed: the prefix and the exact topic.
  expect_accepted(c.request(verb::post, "/publish",
                            events_body({"order.paid", "user.created"}, "a"), as_orders),
                  2);
  // Forbidden, and a mixed batch: 403 listing the offending indexes, nothing stored.
  auto r =
      c.request(verb::post, "/publish",
                events_body({"order.new", "user.deleted", "order.x", "orderx"}, "b"), as_orders);
  const auto body = check_error(r, 403, "forbidden");
  const auto& details = as_array(at(body, "details"));
  BOOST_TEST_REQUIRE(details.size() == 2u);
  BOOST_TEST(as_int(at(as_object(details[0]), "index")) == 1);
  BOOST_TEST(as_string(at(as_object(details[0]), "field")) == "topic");
  BOOST_TEST(as_int(at(as_object(details[1]), "index")) == 3);
  // Lenient: still 403 for the whole request.
  r = c.request(verb::post, "/publish", events_body({"order.new", "user.deleted"}, "c"),
                with(as_orders, {{"Prefer", "handling=lenient"}}));
  check_error(r, 403, "forbidden");
  // Validation first: an invalid event makes it 422 even with a forbidden topic.
  auto bad = make_event("user.deleted", "d");
  bad.erase("source");
  r = c.request(verb::post, "/publish", array_body({bad}), as_orders);
  check_error(r, 422, "validation_failed");
  // Another publisher stores other topics.
  expect_accepted(
      c.request(verb::post, "/publish", events_body({"user.deleted", "billing"}, "e"), as_all), 2);
  // Nothing of the refused requests was stored.
  r = c.request(verb::get, "/events", {}, bearer(fx.all_key));
  BOOST_TEST(as_int(at(as_object(r.json()), "count")) == 4);

  // /events: a forbidden topic is 403; without a topic only its own topics.
  check_error(c.request(verb::get, "/events?topic=billing", {}, bearer(fx.orders_key)), 403,
              "forbidden");
  r = c.request(verb::get, "/events?topic=order.paid", {}, bearer(fx.orders_key));
  BOOST_TEST(as_int(at(as_object(r.json()), "count")) == 1);
  r = c.request(verb::get, "/events", {}, bearer(fx.orders_key));
  const auto page_json = r.json();
  const auto& page = as_object(page_json);
  BOOST_TEST(as_int(at(page, "count")) == 2);
  BOOST_TEST(as_int(at(page, "next_after")) == 2);
  // Long-poll: events of other topics after the cursor do not answer it.
  const auto t0 = std::chrono::steady_clock::now();
  r = c.request(verb::get, "/events?after=2&wait=1", {}, bearer(fx.orders_key));
  BOOST_TEST(as_int(at(as_object(r.json()), "count")) == 0);
  BOOST_TEST((std::chrono::steady_clock::now() - t0) >= std::chrono::milliseconds(900));

  // /subscribe: a filter wider than the patterns is 403; without one, only its topics.
  for (const char* target : {"/subscribe?topic=user.*", "/subscribe?topic=*",
                             "/subscribe?topic=billing", "/subscribe?topic=order.paid&topic=o*"})
    check_error(c.request(verb::get, target, {}, bearer(fx.orders_key)), 403, "forbidden");
  {
    http_stream s(fx.srv.host(), fx.srv.port(), "/subscribe?after=0", false, bearer(fx.orders_key));
    BOOST_TEST_REQUIRE(s.status() == 200u);
    const auto evs = s.events(3, std::chrono::milliseconds(400));
    BOOST_TEST_REQUIRE(evs.size() == 2u);
    BOOST_TEST(as_string(at(evs[0], "topic")) == "order.paid");
    BOOST_TEST(as_string(at(evs[1], "topic")) == "user.created");
  }
  {
    http_stream s(fx.srv.host(), fx.srv.port(), "/subscribe?after=0&topic=order.pa*", false,
                  bearer(fx.orders_key));
    BOOST_TEST(s.events(2, std::chrono::milliseconds(400)).size() == 1u);
  }
  // /stats: its topics only; the counters stay service-wide.
  const auto st = as_object(c.request(verb::get, "/stats", {}, bearer(fx.orders_key)).json());
  BOOST_TEST(to_text(at(st, "topics")) == R"(["order.paid","user.created"])");
  BOOST_TEST(to_text(at(st, "topic_counts")) == R"({"order.paid":1,"user.created":1})");
  BOOST_TEST(as_int(at(st, "unique_processed")) == 4);
  fx.srv.terminate();
  check_no_secret_in(fx.srv);
}

BOOST_AUTO_TEST_CASE(access_token_on_subscribe_only_and_scrubbed) {
  auth_fixture fx;
  log_on_failure guard(fx.srv);
  auto c = make_client(fx.srv);
  {
    http_stream s(fx.srv.host(), fx.srv.port(),
                  "/subscribe?access_token=" + url_encode(fx.read_key), true,
                  {{"Accept", "text/event-stream"}});
    BOOST_TEST(s.status() == 200u);
  }
  check_error(c.get("/stats?access_token=" + url_encode(fx.read_key)), 401, "unauthorized");
  check_error(c.get("/subscribe?access_token=agg_x"), 401, "unauthorized");
  fx.srv.terminate();
  check_no_secret_in(fx.srv);
}

BOOST_AUTO_TEST_CASE(revoked_key_refused_within_a_second) {
  auth_fixture fx;
  log_on_failure guard(fx.srv);
  auto c = make_client(fx.srv);
  BOOST_TEST(c.request(verb::get, "/stats", {}, bearer(fx.read_key)).status == 200u);
  // A key added while the node serves works within the poll interval too.
  const auto late = add_key(fx.db, "late", "read");
  auto wait_status = [&](const std::string& key, unsigned want) {
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) {
      if (c.request(verb::get, "/stats", {}, bearer(key)).status == want)
        return std::chrono::steady_clock::now() - t0;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::chrono::steady_clock::duration::max();
  };
  BOOST_TEST(wait_status(late, 200) < std::chrono::seconds(1));
  const auto id = fx.read_key.substr(4, 16);
  BOOST_TEST_REQUIRE(run_binary("keys revoke --db '" + fx.db + "' " + id).first == 0);
  BOOST_TEST(wait_status(fx.read_key, 401) < std::chrono::seconds(1));
  // The last use was saved when the revocation reached the node.
  const auto list = run_binary("keys list --db '" + fx.db + "'").second;
  std::istringstream line(list.substr(list.find(id)));
  std::string field[7];
  for (auto& f : field) line >> f;
  BOOST_TEST(field[5] != "-", list);  // last used
  BOOST_TEST(field[6] != "-", list);  // revoked
  fx.srv.terminate();
  check_no_secret_in(fx.srv);
}

BOOST_AUTO_TEST_CASE(unauthenticated_16_mib_body_refused_unread) {
  auth_fixture fx;
  log_on_failure guard(fx.srv);
  raw_connection conn(fx.srv.host(), fx.srv.port(), std::chrono::seconds(5));
  conn.open();
  // Only the head is sent: the answer comes without the server waiting for 16 MiB.
  conn.send(
      "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 16777216\r\n\r\n{\"topic\":");
  const auto r = conn.receive();
  check_error(r, 401, "unauthorized");
  BOOST_TEST(!r.keep_alive);
  std::string rest;
  BOOST_TEST(!conn.read_until_close(rest));  // and the connection is closed
}

BOOST_AUTO_TEST_CASE(jwt_hs256) {
  temp_dir dir{"agg-jwt-"};
  const auto s = signer::hs256("a-shared-secret-of-the-test-0123456789");
  const auto key = write_file(dir, "hs.key", s.secret + "\n");  // one trailing newline dropped
  server_process srv{server_config{
      {"--auth", "on", "--jwt-key", key, "--jwt-audience", "aggregator", "--log-level", "debug"}}};
  log_on_failure guard(srv);
  auto c = make_client(srv);
  const auto aud = std::string(R"(,"aud":"aggregator")");
  auto status = [&](const std::string& token, const std::string& path = "/stats") {
    return c.request(verb::get, path, {}, bearer(token)).status;
  };
  const auto good = s.token(claims("read publish", now_s() + 300, aud));
  BOOST_TEST(status(good) == 200u);
  BOOST_TEST(status(good) == 200u);  // the second time from the cache
  BOOST_TEST(status(good, "/metrics") == 403u);
  // Wrong signature, alg none, another alg, no exp, expired, not yet valid, wrong aud.
  const auto wrong = signer::hs256("another-secret").token(claims("read", now_s() + 300, aud));
  BOOST_TEST(status(wrong) == 401u);
  BOOST_TEST(status(s.token(claims("read", now_s() + 300, aud), "none")) == 401u);
  BOOST_TEST(status(s.token(claims("read", now_s() + 300, aud), "HS512")) == 401u);
  BOOST_TEST(status(s.token(R"({"scope":"read","aud":"aggregator"})")) == 401u);
  BOOST_TEST(status(s.token(claims("read", now_s() - 120, aud))) == 401u);
  BOOST_TEST(status(s.token(claims("read", now_s() - 30, aud))) == 200u);  // within the skew
  BOOST_TEST(status(s.token(claims("read", now_s() + 300,
                                   aud + R"(,"nbf":)" + std::to_string(now_s() + 120)))) == 401u);
  BOOST_TEST(status(s.token(claims("read", now_s() + 300, R"(,"aud":"other")"))) == 401u);
  BOOST_TEST(status(s.token(claims("read", now_s() + 300))) == 401u);  // aud required here
  BOOST_TEST(status(s.token(claims("read", now_s() + 300, R"(,"aud":["x","aggregator"])"))) ==
             200u);
  // No scope: 403. Topics claim: restricted like a key's patterns.
  BOOST_TEST(status(s.token(R"({"exp":)" + std::to_string(now_s() + 300) + aud + "}")) == 403u);
  const auto topical =
      s.token(claims("read publish", now_s() + 300, aud + R"(,"topics":["order.*"])"));
  BOOST_TEST(c.request(verb::post, "/publish", events_body({"order.a", "user.b"}, "j"),
                       with(json_type, bearer(topical)))
                 .status == 403u);
  BOOST_TEST(c.request(verb::post, "/publish", events_body({"order.a"}, "j"),
                       with(json_type, bearer(topical)))
                 .status == 200u);
  BOOST_TEST(status(topical, "/events?topic=user.b") == 403u);
  srv.terminate();
  check_no_secret_in(srv);
}

BOOST_AUTO_TEST_CASE(jwt_rs256_and_es256) {
  for (const char* alg : {"RS256", "ES256"}) {
    BOOST_TEST_CONTEXT(alg) {
      temp_dir dir{"agg-jwt-"};
      auto s = signer::generated(alg);
      const auto key = write_file(dir, "pub.pem", s.public_pem);
      server_process srv{server_config{{"--auth", "on", "--jwt-key", key}}};
      log_on_failure guard(srv);
      auto c = make_client(srv);
      auto status = [&](const std::string& token) {
        return c.request(verb::get, "/stats", {}, bearer(token)).status;
      };
      BOOST_TEST(status(s.token(claims("read", now_s() + 300))) == 200u);
      // aud is ignored without --jwt-audience.
      BOOST_TEST(status(s.token(claims("read", now_s() + 300, R"(,"aud":"x")"))) == 200u);
      auto other = signer::generated(alg);
      BOOST_TEST(status(other.token(claims("read", now_s() + 300))) == 401u);
      // The public key used as an HS256 secret (the alg confusion attack).
      signer confused{"HS256-with-pem", s.public_pem, nullptr, {}};
      BOOST_TEST(status(confused.token(claims("read", now_s() + 300))) == 401u);
      signer confused_trimmed{
          "HS256-with-pem", s.public_pem.substr(0, s.public_pem.size() - 1), nullptr, {}};
      BOOST_TEST(status(confused_trimmed.token(claims("read", now_s() + 300))) == 401u);
      BOOST_TEST(status(s.token(claims("read", now_s() + 300), "none")) == 401u);
      BOOST_TEST(status(s.token(claims("read", now_s() - 3600))) == 401u);
      srv.terminate();
      check_no_secret_in(srv);
      EVP_PKEY_free(s.key);
      EVP_PKEY_free(other.key);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_jwt_key_file_is_one_line_and_exit_1) {
  temp_dir dir{"agg-jwt-"};
  const auto priv =
      write_file(dir, "priv.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  auto [rc, out] = run_binary("--auth on --port 0 --db '" + (dir.path() / "e.db").string() +
                              "' --jwt-key '" + priv + "'");
  BOOST_TEST(rc == 1);
  auto [rc2, out2] = run_binary("--auth on --port 0 --db '" + (dir.path() / "e.db").string() +
                                "' --jwt-key '" + (dir.path() / "missing").string() + "'");
  BOOST_TEST(rc2 == 1);
}

BOOST_AUTO_TEST_SUITE_END()
