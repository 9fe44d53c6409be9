#include "api/responses.hpp"
#include "api/router.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace agg;
namespace http = boost::beast::http;

BOOST_AUTO_TEST_SUITE(responses)

BOOST_AUTO_TEST_CASE(error_status_mapping) {
  auto status = [](errc e) { return static_cast<unsigned>(api::error_reply(e, "m").status); };
  BOOST_TEST(status(errc::invalid_json) == 400u);
  BOOST_TEST(status(errc::bad_query) == 400u);
  BOOST_TEST(status(errc::too_large) == 413u);
  BOOST_TEST(status(errc::unsupported_media_type) == 415u);
  BOOST_TEST(status(errc::validation_failed) == 422u);
  BOOST_TEST(status(errc::overloaded) == 503u);
  BOOST_TEST(status(errc::unavailable) == 503u);
  BOOST_TEST(status(errc::method_not_allowed) == 405u);
  BOOST_TEST(status(errc::not_found) == 404u);
  BOOST_TEST(status(errc::header_too_large) == 431u);
  BOOST_TEST(api::error_reply(errc::overloaded, "m").retry_after == 1);
  BOOST_TEST(api::error_reply(errc::unavailable, "m").retry_after == 0);
}

BOOST_AUTO_TEST_CASE(error_body_shape) {
  const auto r =
      api::error_reply(errc::validation_failed, "bad \"x\"", {{3, "timestamp", "must be ..."}});
  BOOST_TEST(
      r.body ==
      R"({"error":"validation_failed","message":"bad \"x\"","details":[{"index":3,"field":"timestamp","message":"must be ..."}]})");
  BOOST_TEST(api::error_reply(errc::not_found, "no").body ==
             R"({"error":"not_found","message":"no","details":[]})");
}

BOOST_AUTO_TEST_CASE(publish_body_counts_and_order) {
  std::vector<event> ev(3);
  ev[0].topic = ev[1].topic = ev[2].topic = "order.paid";
  ev[0].event_id = "a";
  ev[1].event_id = "b";
  ev[2].event_id = "c";
  const std::vector<event_result> res = {{event_status::accepted, 1042},
                                         {event_status::duplicate, 977},
                                         {event_status::conflict, 978}};
  BOOST_TEST(api::publish_body(ev, res) ==
             R"({"received":3,"accepted":1,"duplicates":2,"results":[)"
             R"({"topic":"order.paid","event_id":"a","status":"accepted","seq":1042},)"
             R"({"topic":"order.paid","event_id":"b","status":"duplicate","seq":977},)"
             R"({"topic":"order.paid","event_id":"c","status":"conflict","seq":978}]})");
}

BOOST_AUTO_TEST_CASE(lenient_publish_body_merges_invalid_events_in_request_order) {
  std::vector<event> ev(2);
  ev[0].topic = ev[1].topic = "t";
  ev[0].event_id = "a";
  ev[1].event_id = "b";
  const std::vector<event_result> res = {{event_status::accepted, 5}, {event_status::duplicate, 2}};
  const std::vector<std::uint32_t> positions = {1, 3};
  std::vector<field_error> details = {
      {0, "topic", "bad", 1}, {0, "payload", "missing", 1}, {2, "event", "not JSON", 3}};
  BOOST_TEST(api::publish_body(ev, res, {positions, details, 4}) ==
             R"({"received":2,"accepted":1,"duplicates":1,"invalid":2,"results":[)"
             R"({"index":0,"line":1,"status":"invalid","details":[)"
             R"({"index":0,"line":1,"field":"topic","message":"bad"},)"
             R"({"index":0,"line":1,"field":"payload","message":"missing"}]},)"
             R"({"topic":"t","event_id":"a","status":"accepted","seq":5},)"
             R"({"index":2,"line":3,"status":"invalid","details":[)"
             R"({"index":2,"line":3,"field":"event","message":"not JSON"}]},)"
             R"({"topic":"t","event_id":"b","status":"duplicate","seq":2}]})");
  const std::vector<std::uint32_t> none;
  const std::vector<field_error> one = {{0, "event", "x"}};
  BOOST_TEST(
      api::publish_body({}, {}, {none, one, 1}) ==
      R"({"received":0,"accepted":0,"duplicates":0,"invalid":1,"results":[)"
      R"({"index":0,"status":"invalid","details":[{"index":0,"field":"event","message":"x"}]}]})");
}

BOOST_AUTO_TEST_CASE(events_body_pages) {
  BOOST_TEST(api::events_body({}) == R"({"count":0,"next_after":null,"events":[]})");
  store::stored_event e{977,
                        "order.paid",
                        "b",
                        "2026-11-24T10:15:00Z",
                        "src",
                        R"({"a":42.5})",
                        "2026-11-24T10:15:00.456Z"};
  const auto v = boost::json::parse(api::events_body({e}));
  BOOST_TEST(v.at("count").as_int64() == 1);
  BOOST_TEST(v.at("next_after").as_int64() == 977);
  BOOST_TEST(v.at("events").at(0).at("payload").at("a").as_double() == 42.5);
  BOOST_TEST(v.at("events").at(0).at("received_at").as_string() == "2026-11-24T10:15:00.456Z");
}

BOOST_AUTO_TEST_CASE(stats_body_fields) {
  api::stats_snapshot s;
  s.totals = {5000, 4000, 1000, 2, 3, 4};
  s.topic_counts = {{"order.paid", 2500}, {"user.created", 1500}};
  s.queue_depth = 7;
  s.queue_capacity = 65536;
  s.subscribers = 12;
  BOOST_TEST(
      api::stats_body(s, 35.6, "2026-11-24T10:00:00.000Z") ==
      R"({"received":5000,"unique_processed":4000,"duplicate_dropped":1000,"conflicts":2,)"
      R"("topics":["order.paid","user.created"],"topic_counts":{"order.paid":2500,"user.created":1500},)"
      R"("uptime":35.600,"started_at":"2026-11-24T10:00:00.000Z","queue":{"depth":7,"capacity":65536},)"
      R"("subscribers":12,"rejected":{"invalid":3,"overloaded":4}})");
}

BOOST_AUTO_TEST_CASE(routing) {
  auto ep = [](http::verb m, const char* p) { return std::get<api::endpoint>(api::route(m, p)); };
  auto rep = [](http::verb m, const char* p) { return std::get<api::reply>(api::route(m, p)); };
  BOOST_TEST((ep(http::verb::post, "/publish") == api::endpoint::publish));
  BOOST_TEST((ep(http::verb::get, "/events") == api::endpoint::events));
  BOOST_TEST((ep(http::verb::head, "/stats") == api::endpoint::stats));
  BOOST_TEST((ep(http::verb::get, "/health") == api::endpoint::health));
  BOOST_TEST((ep(http::verb::get, "/subscribe") == api::endpoint::subscribe));
  BOOST_TEST(rep(http::verb::head, "/subscribe").allow == "GET");
  BOOST_TEST(rep(http::verb::post, "/subscribe").allow == "GET");
  BOOST_TEST(rep(http::verb::get, "/publish").allow == "POST");
  BOOST_TEST(static_cast<unsigned>(rep(http::verb::get, "/publish").status) == 405u);
  BOOST_TEST(rep(http::verb::post, "/events").allow == "GET, HEAD");
  BOOST_TEST(static_cast<unsigned>(rep(http::verb::get, "/nope").status) == 404u);
}

BOOST_AUTO_TEST_SUITE_END()
