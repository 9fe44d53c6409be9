#include "ingest/tls_context.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace agg::ingest {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only, as in Mozilla's "intermediate"
// profile. TLS 1.3 keeps OpenSSL's default suites (AES-GCM and ChaCha20-Poly1305).
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's reason for a failure, one line ("no start line", "No such file or directory"),
// without the library OpenSSL names after it (" (PEM routines)").
std::string openssl_reason(const boost::system::error_code& ec) {
  std::string why = ec ? ec.message() : std::string();
  if (const unsigned long e = ERR_peek_last_error(); why.empty() && e != 0)
    if (const char* r = ERR_reason_error_string(e)) why = r;
  ERR_clear_error();
  if (why.size() > 2 && why.back() == ')')
    if (const auto open = why.rfind(" ("); open != std::string::npos) why.resize(open);
  return why.empty() ? "unknown error" : why;
}

// OpenSSL 3 checks the key against the certificate while loading it.
bool key_mismatch(const boost::system::error_code& ec) {
  const auto e = static_cast<unsigned long>(ec.value());
  return ec.category() == boost::asio::error::get_ssl_category() &&
         ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
}

}  // namespace

tls_context::context_ptr tls_context::load(const std::string& cert_file,
                                           const std::string& key_file, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // No TLS 1.2 renegotiation of either side (OpenSSL 3 already refuses a client's unless
  // SSL_OP_ALLOW_CLIENT_RENEGOTIATION), no compression (CRIME).
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) {
    error = "cannot set the TLS 1.2 ciphers: " + openssl_reason({});
    return nullptr;
  }
  // An encrypted key would make OpenSSL prompt on the terminal: refuse it instead.
  ctx->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); });
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    error = "cannot load --tls-cert " + cert_file + ": " + openssl_reason(ec);
    return nullptr;
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec && key_mismatch(ec)) {
    error = "--tls-key " + key_file + " does not match --tls-cert " + cert_file;
    ERR_clear_error();
    return nullptr;
  }
  if (ec) {
    error = "cannot load --tls-key " + key_file + ": " + openssl_reason(ec);
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "--tls-key " + key_file + " does not match --tls-cert " + cert_file;
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

tls_context::tls_context(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
  std::string error;
  current_ = load(cert_file_, key_file_, error);
  if (!current_) throw std::runtime_error(error);
}

tls_context::context_ptr tls_context::current() const {
  std::lock_guard lk(mu_);
  return current_;
}

std::string tls_context::reload() {
  std::string error;
  auto fresh = load(cert_file_, key_file_, error);
  if (!fresh) return error;
  std::lock_guard lk(mu_);
  current_ = std::move(fresh);
  return {};
}

}  // namespace agg::ingest
