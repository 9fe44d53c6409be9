#include "api/access.hpp"
#include "auth/credentials.hpp"
#include "auth/permissions.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using agg::api::filter_refusal;
using agg::api::parse_subscribe_query;
using agg::auth::parse_topic_list;
using agg::auth::topic_set;

namespace {

topic_set patterns(const char* csv) {
  auto t = parse_topic_list(csv);
  BOOST_TEST_REQUIRE(t.has_value());
  return *t;
}

// Whether a /subscribe filter (its query string) is allowed for `allowed`.
bool filter_allowed(const char* query, const topic_set& allowed) {
  const auto q = parse_subscribe_query(query, std::nullopt);
  BOOST_TEST_REQUIRE(q.error.empty());
  return !filter_refusal(q.filter, allowed).has_value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_permissions)

BOOST_AUTO_TEST_CASE(scopes_parse_and_print) {
  std::string unknown;
  BOOST_TEST(agg::auth::parse_scopes("read publish", &unknown) == 3);
  BOOST_TEST(agg::auth::parse_scopes("admin,read", &unknown) == 6);
  BOOST_TEST(unknown.empty());
  BOOST_TEST(agg::auth::parse_scopes("read write", &unknown) == 2);
  BOOST_TEST(unknown == "write");
  BOOST_TEST(agg::auth::scopes_text(7) == "publish,read,admin");
  BOOST_TEST(agg::auth::scopes_text(0) == "-");
}

BOOST_AUTO_TEST_CASE(patterns_parse_normalise_and_match) {
  BOOST_TEST(patterns("").all);
  BOOST_TEST(patterns("a,*").all);  // "*" covers everything
  const auto t = patterns("user.created,order.*,order.paid,user.created");
  BOOST_TEST(!t.all);
  BOOST_TEST(t.text() == "order.*,user.created");  // order.paid is inside order.*
  BOOST_TEST(t.allows("order.paid"));
  BOOST_TEST(t.allows("order."));
  BOOST_TEST(!t.allows("order"));
  BOOST_TEST(!t.allows("orders.x"));
  BOOST_TEST(t.allows("user.created"));
  BOOST_TEST(!t.allows("user.created.x"));
  std::string error;
  BOOST_TEST(!parse_topic_list("a b", &error).has_value());
  BOOST_TEST(!error.empty());
  BOOST_TEST(!parse_topic_list("a,,b").has_value());
  BOOST_TEST(!parse_topic_list(std::string(256, 'x')).has_value());
}

BOOST_AUTO_TEST_CASE(a_filter_is_allowed_only_when_every_topic_it_matches_is) {
  const auto t = patterns("order.*,user.created");
  BOOST_TEST(filter_allowed("topic=order.paid", t));
  BOOST_TEST(filter_allowed("topic=order.*", t));
  BOOST_TEST(filter_allowed("topic=order.pa*", t));  // a longer prefix is inside
  BOOST_TEST(filter_allowed("topic=user.created&topic=order.x", t));
  BOOST_TEST(!filter_allowed("topic=ord*", t));    // a shorter prefix reaches "ordinal"
  BOOST_TEST(!filter_allowed("topic=user.*", t));  // user.created alone does not cover it
  BOOST_TEST(!filter_allowed("topic=*", t));
  BOOST_TEST(!filter_allowed("", t));  // no filter: every topic (the service narrows it)
  BOOST_TEST(!filter_allowed("topic=order.paid&topic=billing", t));
  BOOST_TEST(filter_allowed("topic=*", patterns("")));
  BOOST_TEST(filter_allowed("topic=a*", patterns("*")));
  BOOST_TEST(filter_allowed("topic=abc*", patterns("a*")));
  // What a restricted credential sees without a filter.
  const auto f = agg::api::as_filter(t);
  BOOST_TEST(f.matches("order.x"));
  BOOST_TEST(f.matches("user.created"));
  BOOST_TEST(!f.matches("billing"));
  topic_set none;
  none.all = false;  // a JWT with "topics": []
  BOOST_TEST(!agg::api::as_filter(none).all());
  BOOST_TEST(!agg::api::as_filter(none).matches("a"));
}

BOOST_AUTO_TEST_CASE(authorization_header_forms) {
  using agg::auth::parse_authorization;
  using agg::auth::presented;
  auto p = parse_authorization("Bearer abc.DEF-_~+/=");
  BOOST_TEST(p.kind == presented::bearer);
  BOOST_TEST(p.token == "abc.DEF-_~+/=");
  BOOST_TEST(parse_authorization("bEaReR   tok").token == "tok");
  // Basic: the key as user name, an empty password.
  p = parse_authorization("Basic " + std::string("YWdnX2tleTo="));  // "agg_key:"
  BOOST_TEST(p.kind == presented::bearer);
  BOOST_TEST(p.token == "agg_key");
  BOOST_TEST(parse_authorization("Basic YWdnX2tleTpwdw==").kind == presented::malformed);  // :pw
  BOOST_TEST(parse_authorization("Basic YWdnX2tleQ==").kind == presented::malformed);      // no ':'
  BOOST_TEST(parse_authorization("Basic !!").kind == presented::malformed);
  BOOST_TEST(parse_authorization("Bearer").kind == presented::malformed);
  BOOST_TEST(parse_authorization("Bearer a b").kind == presented::malformed);
  BOOST_TEST(parse_authorization("Digest x").kind == presented::malformed);
  BOOST_TEST(parse_authorization("Bearer a=b").kind == presented::malformed);
}

BOOST_AUTO_TEST_CASE(access_token_is_read_and_scrubbed) {
  using agg::auth::access_token_param;
  using agg::auth::scrub_target;
  BOOST_TEST(access_token_param("topic=a&access_token=k%2Bx").value() == "k+x");
  BOOST_TEST(!access_token_param("topic=a").has_value());
  BOOST_TEST(scrub_target("/subscribe?topic=a&access_token=secret&after=1") ==
             "/subscribe?topic=a&access_token=***&after=1");
  BOOST_TEST(scrub_target("/subscribe") == "/subscribe");
}

BOOST_AUTO_TEST_SUITE_END()
