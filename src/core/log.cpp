#include "core/log.hpp"

#include "core/clock.hpp"
#include "core/json_text.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>

namespace agg {

namespace {

// json format: a line logged by write()/always() starts with this byte, its level's letter
// and its time stamp (24 bytes). Never part of a text line: append_field escapes control bytes.
constexpr char stamp_mark = '\x1e';
constexpr std::size_t stamp_size = 2 + 24;
constexpr std::string_view level_letters = "diwe";

std::string_view level_name(char letter) noexcept {
  switch (letter) {
    case 'd':
      return "debug";
    case 'w':
      return "warn";
    case 'e':
      return "error";
    default:
      return "info";
  }
}

}  // namespace

logger::logger(log_level min_level, log_format format)
    : min_level_(min_level), format_(format), thread_([this] { run(); }) {}

logger::~logger() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void logger::always(std::string_view line) {
  append(log_level::info, line);
}

void logger::write(log_level l, std::string_view line) {
  if (enabled(l)) append(l, line);
}

void logger::write_lines(std::string_view lines) {
  if (!lines.empty()) push(log_level::info, lines, {});
}

void logger::append(log_level l, std::string_view line) {
  push(l, line,
       l == log_level::warn    ? " level=warn\n"
       : l == log_level::error ? " level=error\n"
                               : "\n");
}

void logger::push(log_level l, std::string_view text, std::string_view suffix) {
  std::string stamp;
  if (format_ == log_format::json) {
    stamp.push_back(stamp_mark);
    stamp.push_back(level_letters[static_cast<std::size_t>(l)]);
    stamp += format_utc_ms(std::chrono::system_clock::now());
  }
  bool was_empty;
  {
    std::lock_guard lk(mu_);
    if (pending_.size() + text.size() > max_buffered) {
      ++dropped_;
      return;
    }
    was_empty = pending_.empty();
    pending_.append(stamp);
    pending_.append(text);
    pending_.append(suffix);
    ++generation_;
  }
  // The writer thread takes the whole buffer at once, so only the first line after it emptied
  // needs to wake it: a wake per duplicate cost the consumer ~6% (perf, 20% duplicates).
  if (was_empty) cv_.notify_one();
}

void logger::flush() {
  std::unique_lock lk(mu_);
  const std::uint64_t target = generation_;
  flushed_cv_.wait(lk, [&] { return written_ >= target || stop_; });
}

void logger::append_field(std::string& line, std::string_view key, std::string_view value) {
  line.push_back(' ');
  line.append(key);
  line.push_back('=');
  bool quote = value.empty();
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '"' || c == '=' || c == '\\' || u == 0x7f) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    line.append(value);
    return;
  }
  static constexpr char hex[] = "0123456789abcdef";
  line.push_back('"');
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      line.push_back('\\');
      line.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      line += "\\x";
      line.push_back(hex[u >> 4]);
      line.push_back(hex[u & 0xf]);
    } else {
      line.push_back(c);
    }
  }
  line.push_back('"');
}

void logger::append_json_line(std::string& out, std::string_view line, std::string_view ts,
                              std::string_view level) {
  const auto space = line.find(' ');
  const std::string_view msg = line.substr(0, space);
  std::string fields;
  std::string value;
  std::size_t i = space == std::string_view::npos ? line.size() : space;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    const auto eq = line.find('=', i);
    if (eq == std::string_view::npos) break;  // not written by append_field: ignore the rest
    const std::string_view key = line.substr(i, eq - i);
    value.clear();
    i = eq + 1;
    if (i < line.size() && line[i] == '"') {
      // append_field's quoting: \" and \\ escape themselves, \xHH a control byte.
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] != '\\' || i + 1 >= line.size()) {
          value.push_back(line[i]);
        } else if (line[i + 1] == 'x' && i + 3 < line.size()) {
          value.push_back(
              static_cast<char>(std::stoi(std::string(line.substr(i + 2, 2)), nullptr, 16)));
          i += 3;
        } else {
          value.push_back(line[++i]);
        }
      }
      ++i;  // the closing quote
    } else {
      const auto end = std::min(line.find(' ', i), line.size());
      value.assign(line.substr(i, end - i));
      i = end;
    }
    if (key == "level") {
      level = level_name(value.empty() ? 'i' : value[0]);
      continue;
    }
    fields.push_back(',');
    append_json_string(fields, key);
    fields.push_back(':');
    append_json_string(fields, value);
  }
  out += "{\"ts\":";
  append_json_string(out, ts);
  out += ",\"level\":";
  append_json_string(out, level);
  out += ",\"msg\":";
  append_json_string(out, msg);
  out += fields;
  out += "}\n";
}

void logger::to_json(std::string_view text, std::string& out) {
  // Lines of write_lines() carry no stamp: they take the previous line's time, level info.
  std::string ts = format_utc_ms(std::chrono::system_clock::now());
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    char letter = 'i';
    if (line.size() >= stamp_size && line[0] == stamp_mark) {
      letter = line[1];
      ts.assign(line.substr(2, stamp_size - 2));
      line.remove_prefix(stamp_size);
    }
    if (!line.empty()) append_json_line(out, line, ts, level_name(letter));
  }
}

void logger::run() {
  std::string batch;
  std::string json;
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !pending_.empty() || dropped_ > 0; });
    if (dropped_ > 0) {
      pending_ += "log_dropped lines=" + std::to_string(dropped_) + " level=warn\n";
      dropped_ = 0;
    }
    batch.swap(pending_);
    const std::uint64_t gen = generation_;
    const bool stopping = stop_;
    lk.unlock();
    if (format_ == log_format::json) {
      json.clear();
      to_json(batch, json);
      batch.swap(json);
    }
    std::size_t off = 0;
    while (off < batch.size()) {
      const ssize_t n = ::write(STDERR_FILENO, batch.data() + off, batch.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr closed: nothing more we can do with log lines
      off += static_cast<std::size_t>(n);
    }
    batch.clear();
    lk.lock();
    written_ = gen;
    flushed_cv_.notify_all();
    if (stopping && pending_.empty()) return;
  }
}

bool parse_log_level(std::string_view s, log_level& out) noexcept {
  if (s == "debug")
    out = log_level::debug;
  else if (s == "info")
    out = log_level::info;
  else if (s == "warn")
    out = log_level::warn;
  else if (s == "error")
    out = log_level::error;
  else
    return false;
  return true;
}

}  // namespace agg
