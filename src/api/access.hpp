#pragma once

#include "api/responses.hpp"
#include "api/subscribe_query.hpp"
#include "auth/permissions.hpp"
#include "store/event_store.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agg::api {

// Pure: whether `path` stays open under --auth on (/health and the live page's files).
bool open_path(std::string_view path) noexcept;

// 401 unauthorized with WWW-Authenticate (error="invalid_token" when a credential was sent);
// closes the connection, since the body was not read.
reply unauthorized_reply(bool credential_sent);
// 403 forbidden.
reply forbidden_reply(std::string_view message, const std::vector<field_error>& details = {});

// Pure: the 403 message when the stream filter `f` could match a topic outside `allowed`
// (a filter is allowed only if every topic it could match is allowed: "order.*" needs
// "order.*" or a shorter prefix); nullopt when it may.
std::optional<std::string> filter_refusal(const topic_filter& f, const auth::topic_set& allowed);
// Pure: the permission as a stream filter (what a restricted credential sees without one).
topic_filter as_filter(const auth::topic_set& allowed);

// A page of /events for a credential restricted to `allowed` without a topic filter: reads
// the store's pages after q.after and keeps the allowed events until `q.limit` of them or the
// end of the stored events. `done` runs on the store's thread.
void read_allowed_page(store::event_store& store, store::page_query q,
                       std::shared_ptr<const auth::topic_set> allowed,
                       store::event_store::page_handler done);

}  // namespace agg::api
