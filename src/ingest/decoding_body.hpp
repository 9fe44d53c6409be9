#pragma once

#include "api/body_decoder.hpp"

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional/optional.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace agg::ingest {

// A Beast body that decodes the request body (Content-Encoding) while it is read: each piece
// the parser takes from the socket goes through an api::body_decoder into `text`, so the
// decoded limit (--max-body) stops a decompression bomb as it inflates, and the encoded body
// is never held. The session arms it after reading the head; unarmed (a request refused from
// its head), the body is read and dropped. A decoder error fails the read with that errc
// (too_large, invalid_json); its message is decoder->message().
struct decoding_body {
  struct value_type {
    std::string text;                            // the decoded body
    std::unique_ptr<api::body_decoder> decoder;  // null: drop the body
    bool reserve = false;                        // identity: reserve Content-Length at once
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& b) : body_(b) {}

    void init(const boost::optional<std::uint64_t>& length, boost::system::error_code& ec) {
      ec = {};
      // The parser's body limit has already refused a longer Content-Length.
      if (length && body_.reserve && body_.decoder) body_.text.reserve(*length);
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto b : boost::beast::buffers_range_ref(buffers)) {
        n += b.size();
        if (!body_.decoder) continue;
        const errc e =
            body_.decoder->write({static_cast<const char*>(b.data()), b.size()}, body_.text);
        if (e != errc::ok) {
          ec = e;
          return n;
        }
      }
      return n;
    }

    void finish(boost::system::error_code& ec) {
      ec = {};
      if (body_.decoder)
        if (const errc e = body_.decoder->finish(); e != errc::ok) ec = e;
    }

   private:
    value_type& body_;
  };
};

}  // namespace agg::ingest
