#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::auth {

// What a verified token grants.
struct jwt_grant {
  std::string scope;                               // the `scope` claim ("" when absent)
  std::optional<std::vector<std::string>> topics;  // the `topics` claim, when present
  std::int64_t exp = 0;                            // seconds since the epoch
};

// Verifies JWS compact tokens (RFC 7515/7519) with OpenSSL. The algorithm is pinned by the key:
// a PEM public key is RS256 (RSA) or ES256 (EC P-256); any other file is an HS256 secret. A
// token naming another `alg` (`none` included) is refused, so an RSA public key can never be
// used as an HMAC secret.
class jwt_verifier {
 public:
  static constexpr std::int64_t skew_seconds = 60;  // clock skew allowed on exp and nbf

  // Reads --jwt-key. Throws std::runtime_error with one line on a missing or unusable file.
  static std::unique_ptr<jwt_verifier> load(const std::string& file, std::string audience);
  // From the key's bytes (tests, fuzzing).
  static std::unique_ptr<jwt_verifier> from_bytes(std::string bytes, std::string audience);
  ~jwt_verifier();
  jwt_verifier(const jwt_verifier&) = delete;
  jwt_verifier& operator=(const jwt_verifier&) = delete;

  // "HS256", "RS256" or "ES256".
  const char* algorithm() const noexcept;

  // The grant of `token` at `now` (seconds since the epoch), or nullopt with the reason in
  // `why` (no part of the token in it). Signature first, then the claims.
  std::optional<jwt_grant> verify(std::string_view token, std::int64_t now,
                                  std::string* why = nullptr) const;

 private:
  struct impl;
  explicit jwt_verifier(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Whether `token` has the shape of a JWS compact token (three base64url parts).
bool looks_like_jwt(std::string_view token) noexcept;

}  // namespace agg::auth
