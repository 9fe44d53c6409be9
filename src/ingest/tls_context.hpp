#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace agg::ingest {

// The server side of TLS: a certificate chain and its key from PEM files, TLS 1.2 and 1.3
// only. For TLS 1.2 only ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305);
// TLS 1.3's own suites are all AEAD. No compression, no renegotiation. Each new connection
// takes the context current when it is accepted and keeps it for its life, so reload() (on
// SIGHUP) changes what new connections see and never touches open ones.
class tls_context {
 public:
  using context_ptr = std::shared_ptr<boost::asio::ssl::context>;

  // Loads both files; throws std::runtime_error with one line naming the bad file (start-up).
  tls_context(std::string cert_file, std::string key_file);

  // What a connection accepted now uses. Any thread.
  context_ptr current() const;

  // Loads both files again. On success new connections take the new pair and "" is returned;
  // otherwise the old pair stays and the one-line reason is returned. Any thread.
  std::string reload();

  const std::string& cert_file() const noexcept { return cert_file_; }
  const std::string& key_file() const noexcept { return key_file_; }

  // A context from the files, or null with `error` set to one line (never key material).
  static context_ptr load(const std::string& cert_file, const std::string& key_file,
                          std::string& error);

 private:
  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  context_ptr current_;  // guarded by mu_; swapped whole, never changed in place
};

}  // namespace agg::ingest
