#include "core/exposition.hpp"

#include "core/json_text.hpp"

#include <charconv>
#include <cmath>

namespace agg::metrics {

namespace {

// The format's escapes: backslash and line feed always, the double quote in label values.
void append_escaped(std::string& out, std::string_view v, bool quote) {
  for (const char c : v) {
    if (c == '\\' || (quote && c == '"')) out.push_back('\\');
    if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
}

}  // namespace

void exposition::append_label_value(std::string& out, std::string_view v) {
  append_escaped(out, v, true);
}

void exposition::append_help(std::string& out, std::string_view v) {
  append_escaped(out, v, false);
}

void exposition::append_double(std::string& out, double v) {
  if (std::isnan(v))
    out += "NaN";
  else if (std::isinf(v))
    out += v > 0 ? "+Inf" : "-Inf";
  else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_.push_back(' ');
  append_help(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_.push_back(' ');
  out_ += type;
  out_.push_back('\n');
}

void exposition::series(std::string_view name, std::string_view suffix,
                        std::initializer_list<label> labels, const label* extra) {
  out_ += name;
  out_ += suffix;
  if (labels.size() == 0 && !extra) {
    out_.push_back(' ');
    return;
  }
  out_.push_back('{');
  bool first = true;
  auto one = [&](const label& l) {
    if (!first) out_.push_back(',');
    first = false;
    out_ += l.name;
    out_ += "=\"";
    append_label_value(out_, l.value);
    out_.push_back('"');
  };
  for (const auto& l : labels) one(l);
  if (extra) one(*extra);
  out_ += "} ";
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels,
                        std::uint64_t value) {
  series(name, {}, labels, nullptr);
  append_number(out_, value);
  out_.push_back('\n');
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels,
                        std::int64_t value) {
  series(name, {}, labels, nullptr);
  append_number(out_, value);
  out_.push_back('\n');
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels, double value) {
  series(name, {}, labels, nullptr);
  append_double(out_, value);
  out_.push_back('\n');
}

void exposition::histogram(std::string_view name, std::initializer_list<label> labels,
                           const histogram_data& h) {
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    le.clear();
    if (i < h.bounds.size())
      append_double(le, static_cast<double>(h.bounds[i]) / h.unit);
    else
      le = "+Inf";
    const label l{"le", le};
    series(name, "_bucket", labels, &l);
    append_number(out_, cumulative);
    out_.push_back('\n');
  }
  series(name, "_sum", labels, nullptr);
  append_double(out_, static_cast<double>(h.sum) / h.unit);
  out_.push_back('\n');
  series(name, "_count", labels, nullptr);
  append_number(out_, cumulative);
  out_.push_back('\n');
}

}  // namespace agg::metrics
