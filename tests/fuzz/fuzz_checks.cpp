#include "fuzz_checks.hpp"

#include "api/body_decoder.hpp"
#include "api/body_format.hpp"
#include "api/ndjson.hpp"
#include "api/publish_parser.hpp"
#include "api/responses.hpp"
#include "api/router.hpp"
#include "auth/credentials.hpp"
#include "auth/jwt.hpp"
#include "core/json_text.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

namespace agg::fuzz {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::size_t default_max_batch = 10000;
constexpr std::size_t small_max_batch = 2;
constexpr std::size_t max_payload_depth = 256;

// Decodes UTF-8; nullopt when the bytes are not valid UTF-8 (overlong, surrogate, > U+10FFFF).
std::optional<std::vector<std::uint32_t>> code_points(std::string_view s) {
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1Fu;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0Fu;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07u;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return std::nullopt;
    out.push_back(cp);
    i += len;
  }
  return out;
}

bool is_control(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

// Unicode White_Space (PropList.txt).
bool is_white_space(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// The contract's rule for topic (whitespace forbidden) or event_id/source (it is allowed).
std::string text_rule(std::string_view field, std::string_view s, bool forbid_space) {
  if (s.empty() || s.size() > 255)
    return std::string(field) + " has " + std::to_string(s.size()) + " bytes";
  const auto cps = code_points(s);
  if (!cps) return std::string(field) + " is not valid UTF-8";
  for (const auto cp : *cps) {
    if (is_control(cp)) return std::string(field) + " has control character " + std::to_string(cp);
    if (forbid_space && is_white_space(cp))
      return std::string(field) + " has white space " + std::to_string(cp);
  }
  return {};
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& value) {
  if (pos + n > s.size()) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

// RFC 3339 date-time, seconds and offset optional (a looser reading than validation.cpp's:
// anything it accepts must at least have this form).
std::string timestamp_rule(std::string_view s) {
  int y, mo, d, h, mi, sec = 0;
  auto bad = [&] { return "timestamp '" + std::string(s.substr(0, 64)) + "' is not a date-time"; };
  if (!digits(s, 0, 4, y) || s.size() < 16 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi))
    return bad();
  std::size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2, sec)) return bad();
    i += 3;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      const std::size_t start = ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      if (i == start) return bad();
    }
  }
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int oh, om;
      if (!digits(s, i + 1, 2, oh)) return bad();
      std::size_t j = i + 3;
      if (j < s.size() && s[j] == ':') ++j;
      if (!digits(s, j, 2, om) || oh > 23 || om > 59) return bad();
      i = j + 2;
    } else {
      return bad();
    }
  }
  if (i != s.size()) return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return bad();
  return {};
}

std::size_t depth(const json::value& v) {
  std::size_t inner = 0;
  if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) inner = std::max(inner, depth(kv.value()));
  } else if (const auto* a = v.if_array()) {
    for (const auto& e : *a) inner = std::max(inner, depth(e));
  } else {
    return 0;
  }
  return inner + 1;
}

// JSON value equality with numbers compared by value (1, 1.0 and 1e0 are one number).
// How numbers compare. Boost.JSON 1.81 reads decimals with more than about 16 significant
// digits, or with large exponents, up to about an ulp off (exact reading came in 1.83), so
// re-reading the service's shortest round-trip output may land next to the first reading:
// `near` accepts 4 ulp, `exact` nothing. Integers that both sides read as integers must match.
enum class numbers { exact, near };

double number_value(const json::value& v) {
  const double d = v.is_double() ? v.get_double() : v.to_number<double>();
  return std::isnan(d) ? 0.0 : d;  // Boost.JSON reads 0e+310 as NaN; its value is 0
}

bool same_number(const json::value& a, const json::value& b, numbers how) {
  if (!a.is_double() && !b.is_double()) return a == b;
  const double x = number_value(a), y = number_value(b);
  if (x == y) return true;
  if (how == numbers::exact || std::isinf(x) || std::isinf(y)) return false;
  double step = x;
  for (int i = 0; i < 4; ++i) {
    step = std::nextafter(step, y);
    if (step == y) return true;
  }
  return false;
}

bool same_value(const json::value& a, const json::value& b, numbers how) {
  if (a.is_number() && b.is_number()) return same_number(a, b, how);
  if (a.kind() != b.kind()) return false;
  if (const auto* oa = a.if_object()) {
    const auto& ob = b.get_object();
    if (oa->size() != ob.size()) return false;
    for (const auto& kv : *oa) {
      const auto* other = ob.if_contains(kv.key());
      if (!other || !same_value(kv.value(), *other, how)) return false;
    }
    return true;
  }
  if (const auto* aa = a.if_array()) {
    const auto& ab = b.get_array();
    if (aa->size() != ab.size()) return false;
    for (std::size_t i = 0; i < aa->size(); ++i)
      if (!same_value((*aa)[i], ab[i], how)) return false;
    return true;
  }
  return a == b;
}

std::string_view sv(const json::string& s) {
  return {s.data(), s.size()};
}

// The error body of `r` is {"error": <code>, "message": <non-empty>, "details": [...]} with the
// details of r, and the status matches the code.
std::string check_error_body(const api::parse_result& r) {
  const auto rep = api::error_reply(r.code, r.message, r.details);
  const unsigned want = r.code == errc::invalid_json ? 400u
                        : r.code == errc::too_large  ? 413u
                                                     : 422u;
  if (static_cast<unsigned>(rep.status) != want)
    return "error_reply status " + std::to_string(static_cast<unsigned>(rep.status)) + " for " +
           to_string(r.code);
  boost::system::error_code ec;
  const auto v = json::parse(rep.body, ec);
  if (ec || !v.is_object()) return "error body is not a JSON object: " + rep.body.substr(0, 200);
  const auto& o = v.get_object();
  const auto* e = o.if_contains("error");
  const auto* m = o.if_contains("message");
  const auto* d = o.if_contains("details");
  if (!e || !e->is_string() || sv(e->get_string()) != to_string(r.code))
    return "error body has the wrong \"error\": " + rep.body.substr(0, 200);
  if (!m || !m->is_string() || m->get_string().empty() || sv(m->get_string()) != r.message)
    return "error body has the wrong \"message\": " + rep.body.substr(0, 200);
  if (!d || !d->is_array() || d->get_array().size() != r.details.size())
    return "error body has the wrong \"details\": " + rep.body.substr(0, 200);
  for (std::size_t i = 0; i < r.details.size(); ++i) {
    const auto* item = d->get_array()[i].if_object();
    if (!item) return "details[" + std::to_string(i) + "] is not an object";
    const auto* f = item->if_contains("field");
    const auto* idx = item->if_contains("index");
    if (!f || !f->is_string() || sv(f->get_string()) != r.details[i].field || !idx ||
        !idx->is_number() || idx->to_number<std::uint64_t>() != r.details[i].index)
      return "details[" + std::to_string(i) + "] does not match: " + json::serialize(*item);
  }
  return {};
}

// The events of `root` as parse_publish should see them, or nullopt for a wrong shape.
std::optional<std::vector<const json::value*>> elements(const json::value& root) {
  std::vector<const json::value*> out;
  if (const auto* o = root.if_object()) {
    if (const auto* w = o->if_contains("events")) {
      if (!w->is_array()) return std::nullopt;
      for (const auto& e : w->get_array()) out.push_back(&e);
    } else {
      out.push_back(&root);
    }
    return out;
  }
  if (const auto* a = root.if_array()) {
    for (const auto& e : *a) out.push_back(&e);
    return out;
  }
  return std::nullopt;
}

std::string check_ok(const api::parse_result& r, const json::value* root, std::size_t max_batch) {
  if (r.events.empty() || r.events.size() > max_batch)
    return "ok with " + std::to_string(r.events.size()) + " events (limit " +
           std::to_string(max_batch) + ")";
  if (!r.details.empty()) return "ok with details";
  if (!root) return "ok but boost::json (max_depth 300) rejects the body";
  const auto elems = elements(*root);
  if (!elems) return "ok but the body is not one of the three shapes";
  if (elems->size() != r.events.size())
    return "ok with " + std::to_string(r.events.size()) + " events, the body has " +
           std::to_string(elems->size());
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    const auto& e = r.events[i];
    const std::string at = "event " + std::to_string(i) + ": ";
    if (auto p = text_rule("topic", e.topic, true); !p.empty()) return at + p;
    if (auto p = text_rule("event_id", e.event_id, false); !p.empty()) return at + p;
    if (auto p = text_rule("source", e.source, false); !p.empty()) return at + p;
    if (auto p = timestamp_rule(e.timestamp); !p.empty()) return at + p;
    const auto* src = (*elems)[i]->if_object();
    if (!src) return at + "accepted but not an object in the body";
    for (const auto& [name, value] :
         {std::pair<const char*, const std::string_view*>{"topic", &e.topic},
          {"event_id", &e.event_id},
          {"timestamp", &e.timestamp},
          {"source", &e.source}}) {
      const auto* m = src->if_contains(name);
      if (!m || !m->is_string() || sv(m->get_string()) != *value)
        return at + name + " differs from the body's";
    }
    boost::system::error_code ec;
    json::parse_options deep;
    deep.max_depth = 100000;
    const auto payload = json::parse(e.payload, ec, {}, deep);
    if (ec || !payload.is_object())
      return at +
             "payload does not re-parse as an object: " + std::string(e.payload.substr(0, 200));
    const auto* sent = src->if_contains("payload");
    if (!sent || !sent->is_object()) return at + "accepted without an object payload";
    if (depth(*sent) > max_payload_depth)
      return at + "payload of depth " + std::to_string(depth(*sent)) + " accepted";
    if (!same_value(payload, *sent, numbers::near))
      return at + "payload changed: " + std::string(e.payload.substr(0, 200)) + " vs " +
             json::serialize(*sent).substr(0, 200);
    const auto h = hash_json_value(*sent);
    // Equal values must hash equally; after an inexact re-reading (see numbers) they may not.
    if (same_value(payload, *sent, numbers::exact) && hash_json_value(payload) != h)
      return at + "hash_json_value differs after the round trip of " +
             std::string(e.payload.substr(0, 200));
    if (e.content_hash != hash_bytes(e.source, hash_bytes(e.timestamp, h)))
      return at + "content_hash is not the hash of (timestamp, source, payload)";
    if (e.key_hash != key_hash(e.topic, e.event_id)) return at + "key_hash is not key_hash(key)";
  }
  return {};
}

std::string check_error(const api::parse_result& r, std::string_view body_of_root,
                        const json::value* root, std::size_t max_batch) {
  if (r.code != errc::invalid_json && r.code != errc::too_large &&
      r.code != errc::validation_failed)
    return std::string("unexpected error code ") + std::to_string(static_cast<int>(r.code));
  if (r.message.empty()) return std::string(to_string(r.code)) + " without a message";
  if (!r.events.empty()) return std::string(to_string(r.code)) + " with events";
  if (r.code == errc::validation_failed) {
    if (r.details.empty() && r.message.find("empty") == std::string::npos)
      return "validation_failed without details and not an empty batch: " + r.message;
    for (const auto& d : r.details) {
      if (d.field != "topic" && d.field != "event_id" && d.field != "timestamp" &&
          d.field != "source" && d.field != "payload" && d.field != "event")
        return "detail names unknown field '" + d.field + "'";
      if (d.message.empty()) return "detail without a message";
    }
  } else if (!r.details.empty()) {
    return std::string(to_string(r.code)) + " with details";
  }
  if (root) {
    // The body is JSON: the code must follow from its shape.
    const auto elems = elements(*root);
    if (!elems) {
      if (r.code != errc::invalid_json)
        return std::string(to_string(r.code)) + " for a body of the wrong shape";
    } else if (elems->size() > max_batch) {
      if (r.code != errc::too_large)
        return std::string(to_string(r.code)) + " for " + std::to_string(elems->size()) +
               " events over the limit";
    } else if (elems->empty()) {
      if (r.code != errc::validation_failed) return "empty batch is not validation_failed";
    } else {
      if (r.code == errc::too_large) return "too_large within the batch limit";
      bool too_deep = false;
      for (const auto* e : *elems)
        if (const auto* o = e->if_object())
          if (const auto* p = o->if_contains("payload"); p && p->is_object())
            too_deep = too_deep || depth(*p) > max_payload_depth;
      if (too_deep && r.code != errc::invalid_json)
        return "payload deeper than 256 levels is not invalid_json";
      if (!too_deep && r.code == errc::invalid_json) {
        // Only nesting can make a well-shaped JSON body invalid_json: the service parses with
        // a body limit of 256 + 3 levels, so a body within that and payloads within 256
        // levels must be taken.
        boost::system::error_code ec;
        json::parse_options opts;
        opts.max_depth = max_payload_depth + 3;
        json::parse(body_of_root, ec, {}, opts);
        if (!ec) return "invalid_json for a body within the depth limits: " + r.message;
      }
      for (const auto& d : r.details)
        if (d.index >= elems->size())
          return "detail index " + std::to_string(d.index) + " out of range";
    }
  } else if (r.code == errc::validation_failed) {
    return "validation_failed for a body boost::json rejects";
  }
  return check_error_body(r);
}

bool same_event(const event& a, const event& b) {
  return a.topic == b.topic && a.event_id == b.event_id && a.timestamp == b.timestamp &&
         a.source == b.source && a.payload == b.payload && a.key_hash == b.key_hash &&
         a.content_hash == b.content_hash;
}

// parse_publish (the one-pass path first) against parse_publish_reference (the DOM path
// alone): the same answer to the last detail, whichever path answered.
std::string same_as_reference(std::string_view body, const api::body_format& format,
                              std::size_t max_batch, const api::parse_result& r) {
  const auto ref = api::parse_publish_reference(body, format, max_batch);
  const std::string at = "against the DOM path: ";
  if (r.code != ref.code || r.message != ref.message)
    return at + to_string(r.code) + " \"" + r.message + "\", the DOM path " + to_string(ref.code) +
           " \"" + ref.message + "\"";
  if (r.count != ref.count || r.positions != ref.positions) return at + "count or positions differ";
  if (r.details.size() != ref.details.size()) return at + "details differ in number";
  for (std::size_t i = 0; i < r.details.size(); ++i) {
    const auto& a = r.details[i];
    const auto& b = ref.details[i];
    if (a.index != b.index || a.line != b.line || a.field != b.field || a.message != b.message)
      return at + "details[" + std::to_string(i) + "] differs";
  }
  if (r.events.size() != ref.events.size()) return at + "events differ in number";
  for (std::size_t i = 0; i < r.events.size(); ++i)
    if (!same_event(r.events[i], ref.events[i]))
      return at + "event " + std::to_string(i) + " differs (payload " +
             std::string(r.events[i].payload.substr(0, 100)) + " vs " +
             std::string(ref.events[i].payload.substr(0, 100)) + ")";
  return {};
}

std::string check_one(std::string_view body, const json::value* root, std::size_t max_batch,
                      api::parse_result& r) {
  r = api::parse_publish(body, max_batch);
  std::string p =
      r.code == errc::ok ? check_ok(r, root, max_batch) : check_error(r, body, root, max_batch);
  if (p.empty()) p = same_as_reference(body, api::body_format{}, max_batch, r);
  if (p.empty()) {
    api::body_format lenient;
    lenient.lenient = true;
    p = same_as_reference(body, lenient, max_batch, api::parse_publish(body, lenient, max_batch));
    if (!p.empty()) p = "lenient " + p;
  }
  if (!p.empty()) return "max_batch " + std::to_string(max_batch) + ": " + p;
  return {};
}

}  // namespace

std::string check_publish(std::string_view body) {
  // An independent parse; depth 300 is above the service's body limit (259), so anything the
  // service accepts must parse here.
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 300;
  const json::value parsed = json::parse(body, ec, {}, opts);
  const json::value* root = ec ? nullptr : &parsed;

  api::parse_result big, small;
  if (auto p = check_one(body, root, default_max_batch, big); !p.empty()) return p;
  if (auto p = check_one(body, root, small_max_batch, small); !p.empty()) return p;
  if (big.code == errc::ok) {
    const bool fits = big.events.size() <= small_max_batch;
    if (fits ? small.code != errc::ok || small.events.size() != big.events.size()
             : small.code != errc::too_large)
      return "limits disagree: " + std::to_string(big.events.size()) + " events ok at 10000, " +
             to_string(small.code) + " at 2";
  } else if (big.code != errc::too_large && small.code != big.code &&
             small.code != errc::too_large) {
    return std::string("limits disagree: ") + to_string(big.code) + " at 10000, " +
           to_string(small.code) + " at 2";
  }
  return {};
}

std::string check_http(std::string_view bytes, std::size_t body_limit) {
  const auto& http_category = make_error_code(http::error::end_of_stream).category();
  std::size_t pos = 0;
  // Pipelined requests, one parser each, as the session reads them; bounded.
  for (int n = 0; n < 64 && pos < bytes.size(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    boost::system::error_code ec;
    for (int steps = 0; !parser.is_done(); ++steps) {
      if (steps > 100000) return "request parser makes no progress";
      if (pos >= bytes.size()) {
        // The client sent nothing more and closed: what the session sees as end of stream.
        parser.put_eof(ec);
        break;
      }
      const std::size_t used =
          parser.put(boost::asio::buffer(bytes.data() + pos, bytes.size() - pos), ec);
      pos += used;
      if (ec == http::error::need_more) {
        // All the input is in the buffer, so needing more means the client stopped here.
        if (used == 0 || pos >= bytes.size()) {
          ec = {};
          parser.put_eof(ec);
          break;
        }
        ec = {};
        continue;
      }
      if (ec) break;
      if (used == 0 && !parser.is_done()) return "put() consumed nothing without an error";
    }
    if (ec) {
      if (ec.category() != http_category) return "parser error outside Beast's http category";
      return {};  // the session answers 400/413/431 (or closes) and drops the connection
    }
    if (!parser.is_done()) return {};
    const auto& req = parser.get();
    if (req.body().size() > body_limit)
      return "body of " + std::to_string(req.body().size()) + " bytes past the limit";

    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    auto routed = api::route(req.method(), path);
    if (auto* r = std::get_if<api::reply>(&routed)) {
      const auto status = static_cast<unsigned>(r->status);
      if (status != 404 && status != 405) return "route replied " + std::to_string(status);
      if (status == 405 && r->allow.empty()) return "405 without Allow";
      boost::system::error_code jec;
      const auto body = boost::json::parse(r->body, jec);
      if (jec || !body.is_object()) return "route's reply is not a JSON object";
    } else {
      const auto ep = std::get<api::endpoint>(routed);
      if (ep == api::endpoint::publish) {
        if (req.method() != http::verb::post || path != "/publish")
          return "routed to publish: " + std::string(target.substr(0, 100));
        // The publish path's format rule: a JSON (or absent) Content-Type, no coding.
        const auto format = api::decide_body_format(req.base());
        if (format.refusal == errc::ok && format.media == api::media_type::json &&
            format.coding == api::content_coding::identity && !format.lenient)
          if (auto p = check_publish(req.body()); !p.empty()) return "publish: " + p;
      } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        return "read endpoint routed for a method other than GET/HEAD";
      }
    }
    if (!req.keep_alive()) return {};  // the session closes after answering
  }
  return {};
}

namespace {

api::body_format ndjson_format(bool lenient) {
  api::body_format f;
  f.media = api::media_type::ndjson;
  f.lenient = lenient;
  return f;
}

// Whether `line` alone is one valid event object by the JSON path (parse_publish of the line,
// max_batch 1). An object with an "events" member is the wrapper there, one event in NDJSON:
// it is judged without that member, and `exact` is cleared (its re-serialised text may spell
// numbers otherwise, so its fields are not compared).
bool one_event_object(std::string_view line, api::parse_result& alone, bool& exact) {
  exact = true;
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 300;
  auto v = json::parse(line, ec, {}, opts);
  if (ec || !v.is_object()) return false;
  if (v.get_object().contains("events")) {
    exact = false;
    v.get_object().erase("events");
    alone = api::parse_publish(json::serialize(v), 1);
  } else {
    alone = api::parse_publish(line, 1);
  }
  return alone.code == errc::ok;
}

}  // namespace

std::string check_ndjson(std::string_view body) {
  // The splitter against a plain reading of the lines.
  std::vector<api::ndjson_line> lines;
  {
    api::ndjson_lines split(body);
    std::size_t number = 0, from = 0;
    for (auto l = split.next(); l; l = split.next()) {
      for (;;) {  // the plain reading: next line of the body
        if (from > body.size()) return "splitter returned a line past the end";
        const auto end = std::min(body.find('\n', from), body.size());
        std::string_view plain = body.substr(from, end - from);
        from = end + 1;
        ++number;
        if (!plain.empty() && plain.back() == '\r') plain.remove_suffix(1);
        if (plain.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        if (l->number != number || l->text.data() != plain.data() || l->text != plain)
          return "splitter line " + std::to_string(l->number) + " is not body line " +
                 std::to_string(number);
        break;
      }
      lines.push_back(*l);
    }
    for (; from <= body.size(); ++number) {
      const auto end = std::min(body.find('\n', from), body.size());
      std::string_view plain = body.substr(from, end - from);
      from = end + 1;
      if (plain.find_first_not_of(" \t\r") != std::string_view::npos)
        return "splitter missed line " + std::to_string(number + 1);
    }
  }

  for (const std::size_t max_batch : {std::size_t{10000}, std::size_t{2}}) {
    const auto strict = api::parse_publish(body, ndjson_format(false), max_batch);
    const auto lenient = api::parse_publish(body, ndjson_format(true), max_batch);
    const std::string at = "max_batch " + std::to_string(max_batch) + ": ";
    for (const auto* r : {&strict, &lenient})
      if (auto p = same_as_reference(body, ndjson_format(r == &lenient), max_batch, *r); !p.empty())
        return at + (r == &lenient ? "lenient " : "strict ") + p;
    if (lines.size() > max_batch) {
      if (strict.code != errc::too_large || lenient.code != errc::too_large)
        return at + std::to_string(lines.size()) + " lines are not too_large";
      continue;
    }
    if (lines.empty()) {
      if (strict.code != errc::validation_failed || lenient.code != errc::validation_failed)
        return at + "an empty body is not validation_failed";
      continue;
    }
    if (strict.code == errc::invalid_json) {
      // Only nesting makes a whole NDJSON body invalid_json; lenient agrees.
      if (lenient.code != errc::invalid_json) return at + "strict invalid_json, lenient not";
      if (strict.message.find("nested deeper") == std::string::npos)
        return at + "invalid_json for something else than nesting: " + strict.message;
      continue;
    }
    if (lenient.code != errc::ok) return at + "lenient refused: " + lenient.message;
    if (lenient.count != lines.size()) return at + "lenient count is not the line count";
    if (lenient.positions.size() != lenient.events.size())
      return at + "lenient positions do not match its events";
    // Line by line against the JSON path.
    std::size_t kept = 0;
    std::vector<std::size_t> invalid;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      api::parse_result alone;
      bool exact = true;
      const bool valid = one_event_object(lines[i].text, alone, exact);
      const bool taken = kept < lenient.positions.size() && lenient.positions[kept] == i;
      if (valid != taken)
        return at + "line " + std::to_string(lines[i].number) +
               (valid ? " is one valid event but was left out" : " was taken but is not valid");
      if (taken && !same_event(lenient.events[kept++], alone.events[0]) && exact)
        return at + "event of line " + std::to_string(lines[i].number) + " differs from JSON's";
      if (!valid) invalid.push_back(i);
    }
    for (const auto& d : lenient.details) {
      if (std::find(invalid.begin(), invalid.end(), d.index) == invalid.end())
        return at + "detail for index " + std::to_string(d.index) + " which is valid";
      if (d.line != lines[d.index].number) return at + "detail with a wrong line number";
    }
    if (invalid.empty()) {
      if (strict.code != errc::ok || strict.events.size() != lines.size())
        return at + "every line valid but strict is not ok";
      for (std::size_t i = 0; i < lines.size(); ++i)
        if (!same_event(strict.events[i], lenient.events[i]))
          return at + "strict and lenient events differ";
    } else {
      if (strict.code != errc::validation_failed || !strict.events.empty())
        return at + "an invalid line but strict is not validation_failed";
      if (strict.details.size() != lenient.details.size())
        return at + "strict and lenient details differ";
      for (std::size_t i = 0; i < strict.details.size(); ++i)
        if (strict.details[i].index != lenient.details[i].index ||
            strict.details[i].line != lenient.details[i].line ||
            strict.details[i].field != lenient.details[i].field)
          return at + "strict and lenient details differ";
      if (auto p = check_error_body(strict); !p.empty()) return at + p;
    }
  }
  return {};
}

std::string check_decoder(std::string_view bytes) {
  std::optional<std::string_view> header[3];
  for (auto& h : header) {
    const auto nl = bytes.find('\n');
    if (nl == std::string_view::npos) break;
    if (bytes.substr(0, nl) != "-") h = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
  }
  const auto format = api::decide_body_format(header[0], header[1], header[2]);
  if (format.refusal != errc::ok) {
    if (format.refusal != errc::unsupported_media_type || format.message.empty())
      return "a refusal that is not a 415 with a message";
    return {};
  }
  if (!header[1] && format.coding != api::content_coding::identity)
    return "a coding without Content-Encoding";

  // One piece, then pieces of 1..13 bytes: the same outcome and bytes.
  std::string whole, message;
  const errc e = api::decode_body(format.coding, bytes, decoder_limit, whole, message);
  api::body_decoder d(format.coding, decoder_limit);
  std::string pieces;
  errc ep = errc::ok;
  for (std::size_t at = 0, n = 1; at < bytes.size() && ep == errc::ok; at += n, n = n % 13 + 1)
    ep = d.write(bytes.substr(at, n), pieces);
  if (ep == errc::ok) ep = d.finish();
  if (e != ep) return "decoding in pieces ends otherwise than in one piece";
  if (e != errc::ok && e != errc::too_large && e != errc::invalid_json)
    return std::string("decoder error ") + to_string(e);
  if (e != errc::ok && message.empty()) return "decoder error without a message";
  if (whole.size() > decoder_limit + 1) return "decoder produced past the limit";
  if (e == errc::too_large && whole.size() != decoder_limit + 1)
    return "too_large before the limit was passed";
  if (e != errc::ok) return {};
  if (whole != pieces) return "decoding in pieces gives other bytes";
  if (format.coding == api::content_coding::identity && whole != bytes)
    return "identity changed the body";
  if (format.coding != api::content_coding::identity) {
    std::string again;
    if (api::decode_body(format.coding, api::encode_body(format.coding, whole, 1), decoder_limit,
                         again, message) != errc::ok ||
        again != whole)
      return "the decoded body does not survive a round trip";
  }
  if (format.media == api::media_type::ndjson) return check_ndjson(whole);
  if (!format.lenient) return check_publish(whole);
  const auto r = api::parse_publish(whole, format, 10000);
  if (r.code == errc::validation_failed && r.count != 0) return "lenient validation_failed";
  return {};
}

std::size_t body_limit_from_env() {
  if (const char* v = std::getenv("AGG_FUZZ_BODY_LIMIT")) {
    char* end = nullptr;
    const auto n = std::strtoull(v, &end, 10);
    if (end != v && *end == '\0' && n > 0) return static_cast<std::size_t>(n);
  }
  return default_body_limit;
}

}  // namespace agg::fuzz

namespace agg::fuzz {

std::string check_credentials(std::string_view bytes) {
  auto take_line = [&bytes] {
    const auto nl = bytes.find('\n');
    const auto line = bytes.substr(0, nl);
    bytes = nl == std::string_view::npos ? std::string_view() : bytes.substr(nl + 1);
    return line;
  };
  const auto header = take_line();
  const auto target = take_line();
  const auto token = bytes;

  const auto p = auth::parse_authorization(header);
  if (p.kind == auth::presented::bearer) {
    if (p.token.empty()) return "a bearer credential with an empty token";
    for (const char c : p.token)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
        return "a token with whitespace or a control character";
  } else if (!p.token.empty()) {
    return "a refused credential still carries a token";
  }

  for (std::size_t i = 0; i <= token.size();) {
    const auto dot = token.find('.', i);
    const auto part = token.substr(i, dot == std::string_view::npos ? dot : dot - i);
    if (const auto d = auth::base64url_decode(part); d && auth::base64url_encode(*d) != part)
      return "base64url decoding is not canonical";
    if (dot == std::string_view::npos) break;
    i = dot + 1;
  }

  const auto scrubbed = auth::scrub_target(target);
  if (auth::scrub_target(scrubbed) != scrubbed) return "scrub_target is not idempotent";
  const auto q = scrubbed.find('?');
  if (q != std::string::npos) {
    const auto t = auth::access_token_param(std::string_view(scrubbed).substr(q + 1));
    if (t && *t != "***") return "an access_token value survived scrub_target";
  }

  static const auto verifier = auth::jwt_verifier::from_bytes("fuzz-secret", "");
  const std::int64_t now = 1800000000;
  std::string why1, why2;
  const auto a = verifier->verify(token, now, &why1);
  const auto b = verifier->verify(token, now, &why2);
  if (a.has_value() != b.has_value() || why1 != why2) return "the verifier is not deterministic";
  // Re-signed: the signature is right, so only the header and claims decide.
  const auto last = token.rfind('.');
  if (last != std::string_view::npos) {
    const auto input = token.substr(0, last);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    HMAC(EVP_sha256(), "fuzz-secret", 11, reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac, &n);
    const std::string signed_token =
        std::string(input) + "." +
        auth::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), n));
    if (const auto g = verifier->verify(signed_token, now))
      if (g->exp + auth::jwt_verifier::skew_seconds < now) return "an expired token was accepted";
  }
  return {};
}

}  // namespace agg::fuzz
