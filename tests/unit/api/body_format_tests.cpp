// The pure pieces of the v2 publish formats: deciding the format from the head, the streaming
// decoder (gzip, deflate, limits, corrupt and truncated streams) and the NDJSON line splitter.
#include "api/body_decoder.hpp"
#include "api/body_format.hpp"
#include "api/ndjson.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <vector>

using namespace agg;
using api::content_coding;
using api::decide_body_format;
using api::media_type;

namespace {

std::string compress(std::string_view in, bool gzip, int level = 6) {
  return api::encode_body(gzip ? content_coding::gzip : content_coding::deflate, in, level);
}

std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(body_format)

BOOST_AUTO_TEST_CASE(media_types) {
  BOOST_TEST((decide_body_format(std::nullopt, std::nullopt).media == media_type::json));
  BOOST_TEST((decide_body_format("application/json; charset=utf-8", std::nullopt).media ==
              media_type::json));
  const auto nd = decide_body_format(" Application/X-NDJSON ; charset=utf-8", std::nullopt);
  BOOST_TEST((nd.media == media_type::ndjson && nd.refusal == errc::ok));
  BOOST_TEST((decide_body_format("application/jsonl", std::nullopt).media == media_type::ndjson));
  const auto xml = decide_body_format("text/xml", std::nullopt);
  BOOST_TEST((xml.refusal == errc::unsupported_media_type));
  BOOST_TEST(xml.message.find("text/xml") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(codings) {
  auto coding = [](std::string_view ce) { return decide_body_format(std::nullopt, ce); };
  BOOST_TEST((coding("gzip").coding == content_coding::gzip));
  BOOST_TEST((coding("X-GZIP").coding == content_coding::gzip));
  BOOST_TEST((coding(" deflate ").coding == content_coding::deflate));
  BOOST_TEST((coding("identity").coding == content_coding::identity));
  BOOST_TEST((coding("").coding == content_coding::identity));
  BOOST_TEST((coding("identity, gzip").coding == content_coding::gzip));
  BOOST_TEST((coding("gzip").refusal == errc::ok));
  BOOST_TEST((coding("br").refusal == errc::unsupported_media_type));
  BOOST_TEST(coding("br").message.find("'br'") != std::string::npos);
  BOOST_TEST((coding("gzip, gzip").refusal == errc::unsupported_media_type));
  BOOST_TEST((coding("gzip, br").refusal == errc::unsupported_media_type));
}

BOOST_AUTO_TEST_CASE(prefer_lenient) {
  auto lenient = [](std::string_view p) {
    return decide_body_format(std::nullopt, std::nullopt, p).lenient;
  };
  BOOST_TEST(lenient("handling=lenient"));
  BOOST_TEST(lenient("respond-async, Handling=\"LENIENT\"; x=1"));
  BOOST_TEST(!lenient("handling=strict"));
  BOOST_TEST(!lenient("return=minimal"));
  BOOST_TEST(!lenient(""));
  BOOST_TEST(!decide_body_format(std::nullopt, std::nullopt).lenient);
}

BOOST_AUTO_TEST_CASE(gzip_and_deflate_round_trip_in_any_pieces) {
  const std::string text = random_text(20000, 1) + std::string(50000, 'a');
  for (const bool gzip : {true, false}) {
    const auto packed = compress(text, gzip);
    for (const std::size_t piece :
         {std::size_t{1}, std::size_t{7}, std::size_t{4096}, packed.size()}) {
      BOOST_TEST_CONTEXT("gzip " << gzip << " piece " << piece) {
        api::body_decoder d(gzip ? content_coding::gzip : content_coding::deflate, 1 << 20);
        std::string out;
        for (std::size_t at = 0; at < packed.size(); at += piece)
          BOOST_REQUIRE((d.write(std::string_view(packed).substr(at, piece), out) == errc::ok));
        BOOST_TEST((d.finish() == errc::ok));
        BOOST_TEST(out == text);
        BOOST_TEST(d.message() == "");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(gzip_members_in_a_row_are_one_body) {
  const std::string two = compress("hello ", true) + compress("world", true);
  std::string out, message;
  BOOST_TEST((api::decode_body(content_coding::gzip, two, 100, out, message) == errc::ok));
  BOOST_TEST(out == "hello world");
}

BOOST_AUTO_TEST_CASE(a_bomb_stops_one_byte_past_the_limit) {
  // 10 MB of zeros packs into ~10 KB.
  const auto bomb = compress(std::string(10u << 20, '\0'), true, 9);
  BOOST_TEST(bomb.size() < 11000u);
  api::body_decoder d(content_coding::gzip, 100000);
  std::string out;
  errc e = errc::ok;
  for (std::size_t at = 0; at < bomb.size() && e == errc::ok; at += 1000)
    e = d.write(std::string_view(bomb).substr(at, 1000), out);
  BOOST_TEST((e == errc::too_large));
  BOOST_TEST(out.size() == 100001u);
  BOOST_TEST(d.message().find("100000") != std::string::npos);
  BOOST_TEST((d.write("more", out) == errc::too_large));  // sticky
  BOOST_TEST(out.size() == 100001u);
}

BOOST_AUTO_TEST_CASE(exactly_the_limit_is_fine) {
  std::string out, message;
  const auto packed = compress(std::string(1000, 'x'), true);
  BOOST_TEST((api::decode_body(content_coding::gzip, packed, 1000, out, message) == errc::ok));
  BOOST_TEST(
      (api::decode_body(content_coding::gzip, packed, 999, out, message) == errc::too_large));
  BOOST_TEST((api::decode_body(content_coding::identity, "12345", 5, out, message) == errc::ok));
  BOOST_TEST(out == "12345");
  BOOST_TEST(
      (api::decode_body(content_coding::identity, "123456", 5, out, message) == errc::too_large));
}

BOOST_AUTO_TEST_CASE(truncated_corrupt_and_trailing_streams_are_invalid_json) {
  const auto packed = compress(random_text(5000, 2), true);
  std::string out, message;
  BOOST_TEST((api::decode_body(content_coding::gzip, packed.substr(0, packed.size() - 4), 1 << 20,
                               out, message) == errc::invalid_json));
  BOOST_TEST(message.find("truncated") != std::string::npos);
  std::string corrupt = packed;
  corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
  BOOST_TEST((api::decode_body(content_coding::gzip, corrupt, 1 << 20, out, message) ==
              errc::invalid_json));
  BOOST_TEST((api::decode_body(content_coding::gzip, "not gzip at all", 1 << 20, out, message) ==
              errc::invalid_json));
  BOOST_TEST(message.find("gzip") != std::string::npos);
  BOOST_TEST(
      (api::decode_body(content_coding::gzip, "", 1 << 20, out, message) == errc::invalid_json));
  BOOST_TEST((api::decode_body(content_coding::deflate, compress("x", false) + "junk", 1 << 20, out,
                               message) == errc::invalid_json));
  // gzip bytes sent as deflate: a wrong header.
  BOOST_TEST((api::decode_body(content_coding::deflate, compress("x", true), 1 << 20, out,
                               message) == errc::invalid_json));
}

BOOST_AUTO_TEST_CASE(ndjson_lines) {
  api::ndjson_lines lines("a\n\n  \r\nb\r\n\t\nc");
  std::vector<std::pair<std::string, std::size_t>> got;
  while (auto l = lines.next()) got.emplace_back(std::string(l->text), l->number);
  const std::vector<std::pair<std::string, std::size_t>> want{{"a", 1}, {"b", 4}, {"c", 6}};
  BOOST_TEST((got == want));
  api::ndjson_lines trailing("x\n");
  BOOST_TEST(trailing.next()->text == "x");
  BOOST_TEST(!trailing.next());
  api::ndjson_lines empty("");
  BOOST_TEST(!empty.next());
  api::ndjson_lines blanks("\n\r\n  \n");
  BOOST_TEST(!blanks.next());
}

BOOST_AUTO_TEST_SUITE_END()
