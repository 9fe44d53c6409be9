#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace agg {

enum class log_level : std::uint8_t { debug, info, warn, error };

// How lines are written: `text` "<event> key=value ..." (the default), or `json` one object per
// line {"ts": "...", "level": "...", "msg": "<event>", "<key>": "<value>", ...} for a log
// shipper. Every value is a JSON string.
enum class log_format : std::uint8_t { text, json };

// Line logger to standard error. A line is "<event> key=value ...", with " level=warn" or
// " level=error" appended for those levels (container runtimes add the time stamp).
// Callers only append to an in-memory buffer under a mutex; a background thread writes it
// out, so logging a duplicate never waits for the terminal or a pipe. In json format the
// caller only adds a time stamp; the background thread turns each line into JSON.
class logger {
 public:
  explicit logger(log_level min_level = log_level::info, log_format format = log_format::text);
  ~logger();  // flushes everything logged so far

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  bool enabled(log_level l) const noexcept { return l >= min_level_; }
  // `line` is the message without trailing newline.
  void write(log_level l, std::string_view line);
  // Appends preformatted lines, each already ending in '\n' (level suffixes included): for
  // callers that gather many lines and publish them at once.
  void write_lines(std::string_view lines);
  // Lifecycle lines (listening, shutdown_started, stopped) are written whatever the level:
  // scripts read the port from the `listening` line.
  void always(std::string_view line);
  // Blocks until everything logged before the call reached the file descriptor.
  void flush();

  // Appends ` key=value`, quoting the value when it is empty or has spaces, quotes, '=' or
  // control characters, so that every line stays one line.
  static void append_field(std::string& line, std::string_view key, std::string_view value);

  // Pure: one text line (without newline, as append_field builds it) as a JSON line ending in
  // '\n', appended to `out`. A `level` field in the line wins over `level`.
  static void append_json_line(std::string& out, std::string_view line, std::string_view ts,
                               std::string_view level);

 private:
  void run();
  void append(log_level l, std::string_view line);
  void push(log_level l, std::string_view text, std::string_view suffix);
  // json format: the buffered text with its stamps -> JSON lines.
  static void to_json(std::string_view text, std::string& out);

  // Above this many buffered bytes, lines are dropped (and counted) rather than growing
  // memory without bound when standard error is blocked.
  static constexpr std::size_t max_buffered = 64u << 20;

  const log_level min_level_;
  const log_format format_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable flushed_cv_;
  std::string pending_;           // guarded by mu_
  std::uint64_t dropped_ = 0;     // guarded by mu_
  std::uint64_t generation_ = 0;  // guarded by mu_: bumped by each write
  std::uint64_t written_ = 0;     // guarded by mu_: generation written out
  bool stop_ = false;             // guarded by mu_
  std::thread thread_;
};

// parse "debug" | "info" | "warn" | "error"; false if unknown.
bool parse_log_level(std::string_view s, log_level& out) noexcept;

}  // namespace agg
