// GET / — the live page's static files, embedded in the binary: content types, validators
// (ETag, 304), unknown files, and that serving them changes no counter. What the page
// does in a browser is tests/browser/page_test.py (headless Chromium).
#define BOOST_TEST_DYN_LINK
#include "test_support.hpp"

#include <boost/beast/http/verb.hpp>

#include <string>

using namespace agg::test;
using verb = boost::beast::http::verb;

namespace {

std::int64_t rejected_invalid(http_client& c) {
  return as_int(at(as_object(at(get_stats(c), "rejected")), "invalid"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(page)

BOOST_AUTO_TEST_CASE(serves_the_page_and_its_files) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto index = c.get("/");
  BOOST_TEST_REQUIRE(index.status == 200u);
  BOOST_TEST(index.header("Content-Type").value_or("") == "text/html; charset=utf-8");
  BOOST_TEST(index.header("Cache-Control").value_or("") == "no-cache");
  BOOST_TEST(index.header("Content-Length").value_or("") == std::to_string(index.body.size()));
  BOOST_TEST(index.body.starts_with("<!doctype html>"));
  BOOST_TEST(index.body.find("/ui/app.js") != std::string::npos);
  const auto etag = index.header("ETag").value_or("");
  BOOST_TEST(etag.size() == 22u, etag);  // a quoted 20-digit hash of the content

  // The aliases are the same document.
  for (const char* alias : {"/ui", "/ui/", "/ui/index.html"}) {
    auto r = c.get(alias);
    BOOST_TEST(r.status == 200u, alias);
    BOOST_TEST(r.body == index.body, alias);
  }
  struct {
    const char* path;
    const char* type;
  } const files[] = {{"/ui/app.js", "text/javascript; charset=utf-8"},
                     {"/ui/app.css", "text/css; charset=utf-8"},
                     {"/ui/icon.svg", "image/svg+xml"}};
  for (const auto& f : files) {
    auto r = c.get(f.path);
    BOOST_TEST(r.status == 200u, f.path);
    BOOST_TEST(r.header("Content-Type").value_or("") == f.type, f.path);
    BOOST_TEST(!r.body.empty(), f.path);
    BOOST_TEST(r.header("ETag").value_or("") != etag, f.path);
  }
  BOOST_TEST(rejected_invalid(c) == 0);  // serving the page is no refused request
}

BOOST_AUTO_TEST_CASE(revalidation_gives_304_without_a_body) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  const auto etag = c.get("/").header("ETag").value_or("");
  BOOST_TEST_REQUIRE(!etag.empty());
  auto r = c.request(verb::get, "/", {}, {{"If-None-Match", etag}});
  BOOST_TEST(r.status == 304u);
  BOOST_TEST(r.body.empty());
  BOOST_TEST(r.header("ETag").value_or("") == etag);
  BOOST_TEST(!r.header("Content-Length").has_value());
  // A stale tag gets the page; the connection stays usable after the 304.
  r = c.request(verb::get, "/", {}, {{"If-None-Match", "\"0123\", W/\"4567\""}});
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.body.starts_with("<!doctype html>"));
  BOOST_TEST(c.connection_count() == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_files_and_methods) {
  // (HEAD is checked for every read endpoint by connection_tests.)
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  check_error(c.get("/ui/nope.js"), 404, "not_found");
  auto post = c.request(verb::post, "/", "{}", {{"Content-Type", "application/json"}});
  check_error(post, 405, "method_not_allowed");
  BOOST_TEST(post.header("Allow").value_or("") == "GET, HEAD");
  BOOST_TEST(rejected_invalid(c) == 2);  // like every 4xx
}

BOOST_AUTO_TEST_SUITE_END()
