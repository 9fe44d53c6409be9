#include "api/validation.hpp"

#include <boost/test/unit_test.hpp>

using namespace agg::api;

BOOST_AUTO_TEST_SUITE(validation)

BOOST_AUTO_TEST_CASE(topic_rules) {
  BOOST_TEST(!check_topic("order.paid"));
  BOOST_TEST(!check_topic("\xc3\xa9v\xc3\xa9nement"));  // UTF-8 is fine
  BOOST_TEST(!check_topic(std::string(255, 't')));
  BOOST_TEST(*check_topic("") == "must not be empty");
  BOOST_TEST(*check_topic(std::string(256, 't')) == "must be at most 255 bytes (got 256)");
  const std::string ws = "must not contain whitespace or control characters";
  BOOST_TEST(*check_topic("a b") == ws);
  BOOST_TEST(*check_topic("a\tb") == ws);
  BOOST_TEST(*check_topic(std::string("a\0b", 3)) == ws);
  BOOST_TEST(*check_topic("a\xc2\xa0"
                          "b") == ws);  // U+00A0 no-break space
  BOOST_TEST(*check_topic("a\xe3\x80\x80"
                          "b") == ws);  // U+3000 ideographic space
  BOOST_TEST(*check_topic("a\xc2\x85"
                          "b") == ws);  // U+0085 (C1 control)
}

BOOST_AUTO_TEST_CASE(text_rules_allow_spaces_not_controls) {
  BOOST_TEST(!check_text("billing service"));
  BOOST_TEST(*check_text("") == "must not be empty");
  BOOST_TEST(*check_text("a\nb") == "must not contain control characters");
  BOOST_TEST(*check_text("a\x7f") == "must not contain control characters");
  BOOST_TEST(*check_text(std::string(300, 'x')) == "must be at most 255 bytes (got 300)");
}

BOOST_AUTO_TEST_CASE(rules_hold_at_every_position_of_a_word) {
  // Plain ASCII is checked eight bytes at a time: a refused byte at each offset of 20 bytes,
  // and a multi-byte character that straddles a word boundary.
  const std::string ws = "must not contain whitespace or control characters";
  const std::string ctl = "must not contain control characters";
  for (std::size_t at = 0; at < 20; ++at) {
    auto with = [&](std::string_view c) {
      return std::string(at, 'a') + std::string(c) + std::string(19 - at, 'b');
    };
    BOOST_TEST(*check_topic(with(" ")) == ws);
    BOOST_TEST(*check_topic(with("\x7f")) == ws);
    BOOST_TEST(*check_topic(with("\xe3\x80\x80")) == ws);  // U+3000
    BOOST_TEST(!check_topic(with("!")));
    BOOST_TEST(!check_topic(with("\xc3\xa9")));  // é
    BOOST_TEST(*check_text(with("\x1f")) == ctl);
    BOOST_TEST(*check_text(with("\x7f")) == ctl);
    BOOST_TEST(*check_text(with("\xc2\x9f")) == ctl);  // U+009F (C1 control)
    BOOST_TEST(!check_text(with(" ")));
    BOOST_TEST(!check_text(with("\xc2\xa0")));  // U+00A0 is text, not a control
  }
}

BOOST_AUTO_TEST_CASE(timestamps_accepted) {
  for (const char* ok :
       {"2026-11-24T10:15:00Z", "2026-11-24T10:15:00.123Z", "2026-11-24T10:15:00+07:00",
        "2026-11-24T10:15:00-0330", "2026-11-24T10:15:00", "2026-11-24t10:15:00z",
        "2026-11-24 10:15:00Z", "2024-02-29T00:00:00Z", "2026-12-31T23:59:60Z", "2026-11-24T10:15Z",
        "2026-11-24T10:15:00.123456789+00:00"})
    BOOST_TEST(!check_timestamp(ok), ok);
}

BOOST_AUTO_TEST_CASE(timestamps_refused) {
  const std::string shape =
      "must be an ISO 8601 / RFC 3339 date and time such as 2026-11-24T10:15:00Z";
  BOOST_TEST(*check_timestamp("2026-11-24") ==
             "must include a time of day (e.g. 2026-11-24T10:15:00Z), not only a date");
  BOOST_TEST(*check_timestamp("yesterday") == shape);
  BOOST_TEST(*check_timestamp("") == shape);
  BOOST_TEST(*check_timestamp("2026-11-24T10:15:00ZZ") == shape);
  BOOST_TEST(*check_timestamp("2026-11-24T10:15:00.Z") == shape);
  BOOST_TEST(*check_timestamp("2026-11-24T10:15:00+7") == shape);
  BOOST_TEST(*check_timestamp("1700000000") == shape);
  BOOST_TEST(*check_timestamp("2026-13-01T00:00:00Z") == "is not a real date and time");
  BOOST_TEST(*check_timestamp("2025-02-29T00:00:00Z") == "is not a real date and time");
  BOOST_TEST(*check_timestamp("2026-11-24T24:00:00Z") == "is not a real date and time");
  BOOST_TEST(*check_timestamp("2026-11-24T10:15:00+24:00") == "has an offset out of range");
}

BOOST_AUTO_TEST_SUITE_END()
