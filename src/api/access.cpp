#include "api/access.hpp"

#include "api/static_files.hpp"

namespace agg::api {

bool open_path(std::string_view path) noexcept {
  // The page's own files only: an unknown file under /ui/ is an unknown path (401).
  return path == "/health" || find_static_file(path) != nullptr;
}

reply unauthorized_reply(bool credential_sent) {
  reply r = error_reply(errc::unauthorized,
                        credential_sent
                            ? "the credential is not valid: unknown, revoked, expired or malformed"
                            : "a credential is required: Authorization: Bearer <API key or JWT>, "
                              "or Basic with the key as user name and an empty password");
  r.headers.emplace_back("WWW-Authenticate",
                         credential_sent ? "Bearer realm=\"aggregator\", error=\"invalid_token\""
                                         : "Bearer realm=\"aggregator\"");
  r.close = true;
  return r;
}

reply forbidden_reply(std::string_view message, const std::vector<field_error>& details) {
  return error_reply(errc::forbidden, message, details);
}

std::optional<std::string> filter_refusal(const topic_filter& f, const auth::topic_set& allowed) {
  if (allowed.all) return std::nullopt;
  if (f.all()) return std::string("the credential may not read every topic; ask for its topics");
  for (const auto& t : f.exact)
    if (!allowed.allows(t)) return "the credential may not read topic " + t;
  for (const auto& p : f.prefixes)
    if (!allowed.covers_prefix(p)) return "the credential may not read every topic of " + p + "*";
  return std::nullopt;
}

topic_filter as_filter(const auth::topic_set& allowed) {
  topic_filter f;
  if (allowed.all) return f;
  f.exact = allowed.exact;
  f.prefixes = allowed.prefixes;
  // Allowed nothing at all: a prefix no topic has (topics have no control characters).
  if (f.exact.empty() && f.prefixes.empty()) f.exact.emplace_back("\x01");
  return f;
}

namespace {

struct allowed_scan {
  store::event_store& store;
  store::page_query q;
  std::shared_ptr<const auth::topic_set> allowed;
  store::event_store::page_handler done;
  std::vector<store::stored_event> kept;
};

void scan_next(std::shared_ptr<allowed_scan> s) {
  auto q = s->q;
  q.limit = 1000;
  s->store.read_page(
      std::move(q), [s](boost::system::error_code ec, std::vector<store::stored_event> rows) {
        if (ec) return s->done(ec, {});
        for (auto& r : rows) {
          if (!s->allowed->allows(r.topic)) continue;
          s->kept.push_back(std::move(r));
          if (static_cast<std::int64_t>(s->kept.size()) == s->q.limit) break;
        }
        if (static_cast<std::int64_t>(s->kept.size()) == s->q.limit || rows.size() < 1000)
          return s->done({}, std::move(s->kept));
        s->q.after = rows.back().seq;
        scan_next(s);
      });
}

}  // namespace

void read_allowed_page(store::event_store& store, store::page_query q,
                       std::shared_ptr<const auth::topic_set> allowed,
                       store::event_store::page_handler done) {
  scan_next(std::make_shared<allowed_scan>(
      allowed_scan{store, std::move(q), std::move(allowed), std::move(done), {}}));
}

}  // namespace agg::api
