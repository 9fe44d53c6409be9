// Every seed of tests/fuzz/corpus/ and every input the fuzzers ever crashed on
// (tests/fuzz/regressions/<target>/) through the fuzz targets' invariant checks, with any
// compiler and no libFuzzer: a fixed crash stays fixed.
#define BOOST_TEST_MODULE fuzz_regressions
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "fuzz_checks.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path fuzz_dir = AGG_FUZZ_DIR;

std::vector<fs::path> inputs(const std::string& target) {
  std::vector<fs::path> out;
  for (const auto& dir : {fuzz_dir / "corpus" / target, fuzz_dir / "regressions" / target}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string().front() != '.')
        out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(publish_inputs_keep_the_invariants) {
  const auto files = inputs("publish");
  BOOST_TEST(files.size() >= 10u);  // the committed seed corpus
  for (const auto& f : files) {
    BOOST_TEST_CONTEXT(f.string()) {
      BOOST_TEST(agg::fuzz::check_publish(read_file(f)) == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(http_inputs_keep_the_invariants) {
  const auto files = inputs("http");
  BOOST_TEST(files.size() >= 10u);
  for (const auto& f : files) {
    BOOST_TEST_CONTEXT(f.string()) {
      BOOST_TEST(agg::fuzz::check_http(read_file(f), agg::fuzz::default_body_limit) == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(ndjson_inputs_keep_the_invariants) {
  const auto files = inputs("ndjson");
  BOOST_TEST(files.size() >= 5u);
  for (const auto& f : files) {
    BOOST_TEST_CONTEXT(f.string()) {
      BOOST_TEST(agg::fuzz::check_ndjson(read_file(f)) == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(decoder_inputs_keep_the_invariants) {
  const auto files = inputs("decoder");
  BOOST_TEST(files.size() >= 5u);
  for (const auto& f : files) {
    BOOST_TEST_CONTEXT(f.string()) {
      BOOST_TEST(agg::fuzz::check_decoder(read_file(f)) == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(credentials_inputs_keep_the_invariants) {
  const auto files = inputs("credentials");
  BOOST_TEST(files.size() >= 5u);
  for (const auto& f : files) {
    BOOST_TEST_CONTEXT(f.string()) {
      BOOST_TEST(agg::fuzz::check_credentials(read_file(f)) == "");
    }
  }
}
