#include "core/errc.hpp"

#include <string>

namespace agg {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "agg"; }

  std::string message(int ev) const override { return to_string(static_cast<errc>(ev)); }
};

}  // namespace

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::invalid_json:
      return "invalid_json";
    case errc::too_large:
      return "too_large";
    case errc::unsupported_media_type:
      return "unsupported_media_type";
    case errc::validation_failed:
      return "validation_failed";
    case errc::overloaded:
      return "overloaded";
    case errc::unavailable:
      return "unavailable";
    case errc::shutting_down:
      return "shutting_down";
    case errc::method_not_allowed:
      return "method_not_allowed";
    case errc::not_found:
      return "not_found";
    case errc::bad_query:
      return "bad_query";
    case errc::bad_request:
      return "bad_request";
    case errc::header_too_large:
      return "header_too_large";
    case errc::unauthorized:
      return "unauthorized";
    case errc::forbidden:
      return "forbidden";
  }
  return "unknown";
}

const boost::system::error_category& agg_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace agg
