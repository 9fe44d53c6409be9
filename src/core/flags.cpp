#include "core/flags.hpp"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <boost/program_options/variables_map.hpp>

#include <algorithm>
#include <charconv>
#include <sstream>
#include <stdexcept>

namespace agg {
namespace po = boost::program_options;
namespace {

// Arguments that are not flags are collected under this name (a positional option), so that a
// stray one can be named in the error; nobody can type it as a flag (see parse_flags).
constexpr const char* positional_key = "positional arguments";

// --help columns: the flag column is as wide as the longest "--flag VALUE"; text wraps at 100.
constexpr unsigned help_width = 100;
constexpr unsigned help_min_text = 50;

// Every flag takes exactly one value per occurrence; a vector keeps every occurrence, so a
// repeated flag is not an error and its last value wins.
po::options_description describe(const std::vector<flag>& table) {
  po::options_description desc("", help_width, help_min_text);
  for (const flag& f : table) {
    std::string text = f.help;
    if (f.required) text += " (required)";
    if (!f.default_text.empty()) text += " (default " + f.default_text + ")";
    desc.add_options()(f.name.c_str(),
                       po::value<std::vector<std::string>>()->value_name(f.value_name),
                       text.c_str());
  }
  desc.add_options()("help,h", "print this text and exit");
  return desc;
}

// AGG_QUEUE_CAPACITY -> "queue-capacity" when that is a flag of `table`, else "".
std::string flag_for_variable(const std::vector<flag>& table, std::string_view var) {
  constexpr std::string_view prefix = "AGG_";
  if (!var.starts_with(prefix)) return {};
  std::string name;
  for (const char c : var.substr(prefix.size()))
    name.push_back(c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  const bool known =
      std::any_of(table.begin(), table.end(), [&](const flag& f) { return f.name == name; });
  return known ? name : std::string();
}

// The environment as parsed options, in the shape po::parse_environment gives (which reads the
// process's own environment; this takes a list, so tests pass their own).
po::parsed_options environment_options(const po::options_description& desc,
                                       const std::vector<flag>& table,
                                       const std::vector<std::string>& env) {
  po::parsed_options parsed(&desc);
  for (const std::string& e : env) {
    const auto eq = e.find('=');
    if (eq == std::string::npos) continue;
    std::string name = flag_for_variable(table, std::string_view(e).substr(0, eq));
    if (name.empty()) continue;
    parsed.options.emplace_back(std::move(name), std::vector<std::string>{e.substr(eq + 1)});
  }
  return parsed;
}

// Program_options' own messages, made one line that names the flag as this program spells it.
[[noreturn]] void rethrow_as_invalid_argument(const po::error& e) {
  if (const auto* unknown = dynamic_cast<const po::unknown_option*>(&e)) {
    std::string name = unknown->get_option_name();
    name = name.substr(0, name.find('='));  // "--bogus=1" -> "--bogus"
    throw std::invalid_argument("unknown flag " + name + " (see --help)");
  }
  if (const auto* syntax = dynamic_cast<const po::invalid_command_line_syntax*>(&e)) {
    if (syntax->kind() == po::invalid_command_line_syntax::missing_parameter ||
        syntax->kind() == po::invalid_command_line_syntax::empty_adjacent_parameter)
      throw std::invalid_argument("missing value for " + syntax->get_option_name());
    if (syntax->kind() == po::invalid_command_line_syntax::extra_parameter)
      throw std::invalid_argument("unexpected value for " + syntax->get_option_name());
  }
  throw std::invalid_argument(std::string(e.what()) + " (see --help)");
}

}  // namespace

void throw_bad_value(std::string_view name, std::string_view value, std::string_view expected) {
  throw std::invalid_argument("invalid value '" + std::string(value) + "' for --" +
                              std::string(name) + ": " + std::string(expected));
}

std::uint64_t parse_flag_uint(std::string_view name, std::string_view value, std::uint64_t min,
                              std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || n < min || n > max)
    throw_bad_value(
        name, value,
        "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return n;
}

flag text_flag(std::string name, std::string value_name, std::string help, std::string& field,
               bool required) {
  flag f{std::move(name), std::move(value_name), std::move(help), field, required, nullptr};
  f.set = [&field, name = f.name](const std::string& v) {
    if (v.empty()) throw_bad_value(name, v, "expected a non-empty value");
    field = v;
  };
  return f;
}

parsed_flags parse_flags(const std::vector<flag>& table, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, std::size_t max_positionals) {
  po::options_description desc = describe(table);
  desc.add_options()(positional_key, po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add(positional_key, -1);

  parsed_flags out;
  po::variables_map vm;
  try {
    // No guessing: "--po" is not taken for "--port", so adding a flag never changes what an
    // existing command line means.
    const auto style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;
    const po::parsed_options cmd =
        po::command_line_parser(args).options(desc).positional(positional).style(style).run();
    for (const po::option& o : cmd.options) {
      if (o.string_key != positional_key) continue;
      // A positional argument has position_key >= 0; "--positional arguments" typed as a
      // flag (quoted) is no flag of ours.
      if (o.position_key < 0) throw std::invalid_argument("unknown flag --" + o.string_key);
      out.positionals.push_back(o.value.front());
    }
    // The command line is stored first: Program_options keeps the first value stored for a
    // name, so a flag wins over its environment variable.
    po::store(cmd, vm);
    po::store(environment_options(desc, table, env), vm);
  } catch (const po::error& e) {
    rethrow_as_invalid_argument(e);
  }
  if (vm.count("help")) {
    out.help = true;
    return out;
  }
  if (out.positionals.size() > max_positionals)
    throw std::invalid_argument("unexpected argument '" + out.positionals[max_positionals] +
                                "' (see --help)");
  for (const flag& f : table) {
    const auto it = vm.find(f.name);
    if (it != vm.end())
      f.set(it->second.as<std::vector<std::string>>().back());
    else if (f.required)
      throw std::invalid_argument("missing flag --" + f.name + " (see --help)");
  }
  return out;
}

std::string describe_flags(const std::vector<flag>& table) {
  std::ostringstream printed;
  printed << describe(table);
  // Program_options leaves a space at the end of a wrapped line.
  std::istringstream lines(printed.str());
  std::string line, out;
  while (std::getline(lines, line)) {
    line.erase(line.find_last_not_of(' ') + 1);
    out += line;
    out += '\n';
  }
  return out;
}

command_line split_command(const std::vector<std::string>& args,
                           std::span<const std::string_view> commands) {
  if (!args.empty() && !args.front().starts_with('-') &&
      std::find(commands.begin(), commands.end(), args.front()) != commands.end())
    return {args.front(), std::vector<std::string>(args.begin() + 1, args.end())};
  return {"", args};
}

}  // namespace agg
