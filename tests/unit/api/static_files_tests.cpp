#include "api/router.hpp"
#include "api/static_files.hpp"

#include <boost/test/unit_test.hpp>

#include <regex>
#include <string>

using namespace agg;
namespace http = boost::beast::http;

namespace {

std::string header(const api::reply& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "(absent)";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(static_files)

BOOST_AUTO_TEST_CASE(page_paths_route_to_the_page) {
  auto ep = [](http::verb m, const char* p) { return std::get<api::endpoint>(api::route(m, p)); };
  auto rep = [](http::verb m, const char* p) { return std::get<api::reply>(api::route(m, p)); };
  for (const char* p : {"/", "/ui", "/ui/", "/ui/app.js", "/ui/nope"})
    BOOST_TEST((ep(http::verb::get, p) == api::endpoint::page), p);
  BOOST_TEST((ep(http::verb::head, "/") == api::endpoint::page));
  BOOST_TEST(rep(http::verb::post, "/").allow == "GET, HEAD");
  BOOST_TEST(static_cast<unsigned>(rep(http::verb::get, "/uix").status) == 404u);
  BOOST_TEST(static_cast<unsigned>(rep(http::verb::get, "/index.html").status) == 404u);
}

BOOST_AUTO_TEST_CASE(files_are_found_with_their_content_types) {
  const auto* index = api::find_static_file("/");
  BOOST_TEST_REQUIRE(index != nullptr);
  BOOST_TEST(index->path == "/ui/index.html");
  BOOST_TEST(index->content_type == "text/html; charset=utf-8");
  BOOST_TEST(index->body.starts_with("<!doctype html>"));
  BOOST_TEST(api::find_static_file("/ui") == index);
  BOOST_TEST(api::find_static_file("/ui/") == index);
  BOOST_TEST(api::find_static_file("/ui/index.html") == index);
  BOOST_TEST(api::find_static_file("/ui/app.js")->content_type == "text/javascript; charset=utf-8");
  BOOST_TEST(api::find_static_file("/ui/app.css")->content_type == "text/css; charset=utf-8");
  BOOST_TEST(api::find_static_file("/ui/icon.svg")->content_type == "image/svg+xml");
  BOOST_TEST(api::find_static_file("/ui/nope.js") == nullptr);
  BOOST_TEST(api::find_static_file("/ui/../ui/app.js") == nullptr);
  BOOST_TEST(api::find_static_file("/index.html") == nullptr);
  for (const auto& f : api::static_files()) {
    BOOST_TEST(!f.body.empty(), f.path);
    // A strong entity tag: a quoted hash of the content, distinct per file.
    BOOST_TEST(std::regex_match(std::string(f.etag), std::regex(R"("[0-9a-f]{20}")")), f.etag);
  }
}

BOOST_AUTO_TEST_CASE(the_page_references_only_embedded_files) {
  // Every src= or href= of index.html names a file of the binary (a typo would be a 404
  // in the browser only), and none is outside (the page works without internet).
  const std::string html(api::find_static_file("/")->body);
  const std::regex ref(R"re((?:src|href)="([^"]*)")re");
  int refs = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator();
       ++it, ++refs)
    BOOST_TEST(api::find_static_file((*it)[1].str()) != nullptr, (*it)[1].str());
  BOOST_TEST(refs == 4);  // icon, stylesheet, script, logo
}

BOOST_AUTO_TEST_CASE(etag_matching) {
  const std::string_view tag = "\"abc\"";
  BOOST_TEST(api::etag_matches("\"abc\"", tag));
  BOOST_TEST(api::etag_matches("W/\"abc\"", tag));
  BOOST_TEST(api::etag_matches("\"x\", \"abc\"", tag));
  BOOST_TEST(api::etag_matches(" \"x\",W/\"abc\" ", tag));
  BOOST_TEST(api::etag_matches("*", tag));
  BOOST_TEST(!api::etag_matches("", tag));
  BOOST_TEST(!api::etag_matches("\"abcd\"", tag));
  BOOST_TEST(!api::etag_matches("abc", tag));
  BOOST_TEST(!api::etag_matches("\"x\", \"y\"", tag));
}

BOOST_AUTO_TEST_CASE(replies_200_or_304_with_validators) {
  const auto& index = *api::find_static_file("/");
  const auto ok = api::static_file_reply(index, std::nullopt);
  BOOST_TEST(static_cast<unsigned>(ok.status) == 200u);
  BOOST_TEST(ok.body == index.body);
  BOOST_TEST(ok.content_type == "text/html; charset=utf-8");
  BOOST_TEST(header(ok, "ETag") == index.etag);
  BOOST_TEST(header(ok, "Cache-Control") == "no-cache");
  BOOST_TEST(header(ok, "X-Content-Type-Options") == "nosniff");
  BOOST_TEST(header(ok, "Content-Security-Policy").starts_with("default-src 'self';"));

  const auto other = api::static_file_reply(index, "\"0000\"");
  BOOST_TEST(static_cast<unsigned>(other.status) == 200u);
  BOOST_TEST(other.body == index.body);

  const auto same = api::static_file_reply(index, index.etag);
  BOOST_TEST(static_cast<unsigned>(same.status) == 304u);
  BOOST_TEST(same.body.empty());
  BOOST_TEST(header(same, "ETag") == index.etag);
  BOOST_TEST(header(same, "Cache-Control") == "no-cache");

  const auto js = api::static_file_reply(*api::find_static_file("/ui/app.js"), std::nullopt);
  BOOST_TEST(header(js, "Content-Security-Policy") == "(absent)");  // only the document has one
}

BOOST_AUTO_TEST_SUITE_END()
