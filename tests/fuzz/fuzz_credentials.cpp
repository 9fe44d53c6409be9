// libFuzzer target: "<Authorization value>\n<request target>\n<token>" -> auth credential
// parsing, access_token scrubbing and JWT verification, checking the invariants of
// fuzz_checks.hpp (check_credentials). Built by scripts/test-fuzz.
#include "fuzz_checks.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem =
      agg::fuzz::check_credentials({reinterpret_cast<const char*>(data), size});
  if (!problem.empty()) {
    std::fprintf(stderr, "credentials invariant failed: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
