#include "core/json_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace agg;

namespace {
std::string compact(std::string_view json) {
  std::string out;
  append_json_value(out, boost::json::parse(json));
  return out;
}
std::uint64_t h(std::string_view json) {
  return hash_json_value(boost::json::parse(json));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(json_text)

BOOST_AUTO_TEST_CASE(numbers_keep_their_decimal_form) {
  BOOST_TEST(compact(R"({"order": 1042, "amount": 42.5})") == R"({"order":1042,"amount":42.5})");
  BOOST_TEST(compact("[0.1, -3, 18446744073709551615, 1e300, -0.5]") ==
             "[0.1,-3,18446744073709551615,1e+300,-0.5]");
  // Boost.JSON reads 0e+310 as NaN and 1e999 as inf: written back as JSON that keeps the value.
  BOOST_TEST(compact("[0e+310, 1e999, -1e999]") == "[0,1e999,-1e999]");
  BOOST_TEST(h("[0e+310]") == h("[0]"));
}

BOOST_AUTO_TEST_CASE(strings_escape_only_what_json_requires) {
  std::string out;
  append_json_string(out, std::string_view("a\"b\\c\n\x01\xc3\xa9", 9));
  BOOST_TEST(out == "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
  BOOST_TEST(compact(R"({"k":"\u0041\n","n":null,"t":true,"a":[]})") ==
             "{\"k\":\"A\\n\",\"n\":null,\"t\":true,\"a\":[]}");
}

BOOST_AUTO_TEST_CASE(strings_escape_at_every_position_of_a_word) {
  // The scan skips eight plain bytes at a time: each special byte at each offset, before,
  // inside and after the whole words, and at the very end.
  const std::pair<char, std::string> specials[] = {
      {'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"}, {'\x01', "\\u0001"}, {'\x1f', "\\u001f"}};
  for (const auto& [c, escaped] : specials)
    for (std::size_t at = 0; at < 19; ++at) {
      const std::string s = std::string(at, 'a') + c + std::string(18 - at, 'b');
      std::string out;
      append_json_string(out, s);
      BOOST_TEST(out == '"' + std::string(at, 'a') + escaped + std::string(18 - at, 'b') + '"');
    }
  // Bytes just outside the escaped ranges pass through: space, '!', '#', '[', ']', DEL, UTF-8.
  std::string out;
  append_json_string(out, " !#[]\x7f\xc3\xa9 !#[]\x7f\xc3\xa9");
  BOOST_TEST(out == "\" !#[]\x7f\xc3\xa9 !#[]\x7f\xc3\xa9\"");
}

BOOST_AUTO_TEST_CASE(hash_ignores_key_order_whitespace_and_escapes) {
  BOOST_TEST(h(R"({"a":1,"b":{"c":[1,2]}})") == h(R"({ "b" : {"c":[1, 2]}, "a":1 })"));
  BOOST_TEST(h(R"({"s":"A"})") == h(R"({"s":"\u0041"})"));
  BOOST_TEST(h(R"({"n":1})") == h(R"({"n":1.0})"));
}

BOOST_AUTO_TEST_CASE(hash_tells_different_values_apart) {
  BOOST_TEST(h(R"({"a":1})") != h(R"({"a":2})"));
  BOOST_TEST(h(R"({"a":"1"})") != h(R"({"a":1})"));
  BOOST_TEST(h("[1,2]") != h("[2,1]"));
  BOOST_TEST(h("{}") != h("[]"));
  BOOST_TEST(h(R"({"a":{"b":1}})") != h(R"({"a":{"c":1}})"));
}

BOOST_AUTO_TEST_CASE(key_hash_separates_topic_from_event_id) {
  BOOST_TEST(key_hash("ab", "c") != key_hash("a", "bc"));
  BOOST_TEST(key_hash("t", "x") == key_hash("t", "x"));
  // Stored in the database: the value must never change between versions.
  BOOST_TEST(key_hash("order.paid", "a") == 18277758691897244585ULL);
}

BOOST_AUTO_TEST_SUITE_END()
