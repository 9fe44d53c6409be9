#include "auth/jwt.hpp"

#include "auth/credentials.hpp"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace agg::auth {
namespace {

enum class alg { hs256, rs256, es256 };

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct sig_free {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

bool fail(std::string* why, const char* reason) {
  if (why) *why = reason;
  return false;
}

std::nullopt_t refuse(std::string* why, const char* reason) {
  fail(why, reason);
  return std::nullopt;
}

// A NumericDate: an integer or a number with a fraction (truncated).
std::optional<std::int64_t> numeric_date(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double()) && std::fabs(v.get_double()) < 9e15)
    return static_cast<std::int64_t>(v.get_double());
  return std::nullopt;
}

std::optional<boost::json::object> json_object(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 16;
  auto v = boost::json::parse(text, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

}  // namespace

struct jwt_verifier::impl {
  alg a = alg::hs256;
  std::string secret;                        // HS256
  std::unique_ptr<EVP_PKEY, pkey_free> key;  // RS256 / ES256
  std::string audience;

  bool check_signature(std::string_view signing_input, const std::string& sig,
                       std::string* why) const {
    if (a == alg::hs256) {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int n = 0;
      if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                mac, &n))
        return fail(why, "cannot compute the HMAC");
      if (sig.size() != n || CRYPTO_memcmp(mac, sig.data(), n) != 0)
        return fail(why, "bad signature");
      return true;
    }
    std::string der;
    const std::string* s = &sig;
    if (a == alg::es256) {
      // JWS carries r || s (32 bytes each); OpenSSL verifies DER.
      if (sig.size() != 64) return fail(why, "bad signature");
      std::unique_ptr<ECDSA_SIG, sig_free> es(ECDSA_SIG_new());
      BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
      BIGNUM* ss = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
      if (!es || !r || !ss || ECDSA_SIG_set0(es.get(), r, ss) != 1) {
        BN_free(r);
        BN_free(ss);
        return fail(why, "bad signature");
      }
      unsigned char* out = nullptr;
      const int len = i2d_ECDSA_SIG(es.get(), &out);
      if (len <= 0) return fail(why, "bad signature");
      der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
      OPENSSL_free(out);
      s = &der;
    }
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1)
      return fail(why, "cannot verify");
    const int ok = EVP_DigestVerify(
        ctx.get(), reinterpret_cast<const unsigned char*>(s->data()), s->size(),
        reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
    if (ok != 1) return fail(why, "bad signature");
    return true;
  }
};

jwt_verifier::jwt_verifier(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
jwt_verifier::~jwt_verifier() = default;

std::unique_ptr<jwt_verifier> jwt_verifier::load(const std::string& file, std::string audience) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read --jwt-key " + file);
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return from_bytes(ss.str(), std::move(audience));
  } catch (const std::exception& e) {
    throw std::runtime_error("--jwt-key " + file + ": " + e.what());
  }
}

std::unique_ptr<jwt_verifier> jwt_verifier::from_bytes(std::string bytes, std::string audience) {
  auto p = std::make_unique<impl>();
  p->audience = std::move(audience);
  if (bytes.find("-----BEGIN") != std::string::npos) {
    std::unique_ptr<BIO, bio_free> bio(
        BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    p->key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    // A PEM file that is no public key (a private key, a certificate) must not silently become
    // an HMAC secret.
    if (!p->key) throw std::runtime_error("a PEM file but not a public key (BEGIN PUBLIC KEY)");
    const int id = EVP_PKEY_get_base_id(p->key.get());
    if (id == EVP_PKEY_RSA) {
      if (EVP_PKEY_get_bits(p->key.get()) < 2048)
        throw std::runtime_error("an RSA key needs at least 2048 bits");
      p->a = alg::rs256;
    } else if (id == EVP_PKEY_EC) {
      char group[64] = {};
      std::size_t n = 0;
      if (EVP_PKEY_get_group_name(p->key.get(), group, sizeof group, &n) != 1 ||
          std::string_view(group) != "prime256v1")
        throw std::runtime_error("an EC key must be on P-256 (ES256)");
      p->a = alg::es256;
    } else {
      throw std::runtime_error("the public key is neither RSA nor EC P-256");
    }
  } else {
    if (!bytes.empty() && bytes.back() == '\n') bytes.pop_back();
    if (bytes.empty()) throw std::runtime_error("the HS256 secret is empty");
    p->secret = std::move(bytes);
  }
  return std::unique_ptr<jwt_verifier>(new jwt_verifier(std::move(p)));
}

const char* jwt_verifier::algorithm() const noexcept {
  switch (impl_->a) {
    case alg::hs256:
      return "HS256";
    case alg::rs256:
      return "RS256";
    case alg::es256:
      return "ES256";
  }
  return "";
}

bool looks_like_jwt(std::string_view token) noexcept {
  const auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return false;
  const auto d2 = token.find('.', d1 + 1);
  return d2 != std::string_view::npos && token.find('.', d2 + 1) == std::string_view::npos;
}

std::optional<jwt_grant> jwt_verifier::verify(std::string_view token, std::int64_t now,
                                              std::string* why) const {
  if (!looks_like_jwt(token)) return refuse(why, "not a JWT");
  const auto d1 = token.find('.');
  const auto d2 = token.find('.', d1 + 1);
  const auto header_text = base64url_decode(token.substr(0, d1));
  const auto claims_text = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  const auto sig = base64url_decode(token.substr(d2 + 1));
  if (!header_text || !claims_text || !sig) return refuse(why, "bad base64url");
  const auto header = json_object(*header_text);
  if (!header) return refuse(why, "the header is not a JSON object");
  const auto* a = header->if_contains("alg");
  if (!a || !a->is_string() || a->get_string() != algorithm())
    return refuse(why, "alg does not match the key");
  if (header->contains("crit")) return refuse(why, "crit is not supported");
  if (!impl_->check_signature(token.substr(0, d2), *sig, why)) return std::nullopt;

  const auto claims = json_object(*claims_text);
  if (!claims) return refuse(why, "the claims are not a JSON object");
  jwt_grant g;
  const auto* exp = claims->if_contains("exp");
  const auto exp_v = exp ? numeric_date(*exp) : std::nullopt;
  if (!exp_v) return refuse(why, "exp is missing");
  if (now > *exp_v + skew_seconds) return refuse(why, "expired");
  g.exp = *exp_v;
  if (const auto* nbf = claims->if_contains("nbf")) {
    const auto v = numeric_date(*nbf);
    if (!v) return refuse(why, "bad nbf");
    if (now + skew_seconds < *v) return refuse(why, "not yet valid");
  }
  if (!impl_->audience.empty()) {
    const auto* aud = claims->if_contains("aud");
    bool ok = false;
    if (aud && aud->is_string()) ok = aud->get_string() == impl_->audience;
    if (aud && aud->is_array())
      for (const auto& x : aud->get_array())
        ok = ok || (x.is_string() && x.get_string() == impl_->audience);
    if (!ok) return refuse(why, "wrong audience");
  }
  if (const auto* sc = claims->if_contains("scope")) {
    if (!sc->is_string()) return refuse(why, "scope is not a string");
    g.scope = std::string(sc->get_string());
  }
  if (const auto* t = claims->if_contains("topics")) {
    if (!t->is_array()) return refuse(why, "topics is not an array");
    g.topics.emplace();
    for (const auto& x : t->get_array()) {
      if (!x.is_string()) return refuse(why, "topics holds a non-string");
      g.topics->emplace_back(x.get_string());
    }
  }
  return g;
}

}  // namespace agg::auth
