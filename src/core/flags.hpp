#pragma once

// Command-line flags as one table. Each row declares a flag once: its name (which also gives its
// environment variable AGG_<NAME>), the value it takes, its effect, and how a value is parsed
// into the field it sets; the default shown by --help is the field's value when the table is
// built, so a default is written only where the field is declared. Boost.Program_options reads
// the command line (`--name value`, `--name=value`, -h/--help) against the table.
//
// A subcommand (`aggregator keys add --db DB --name N ...`) is one more table parsed the same
// way: split_command() takes the command word off, parse_flags() reads the rest.
//
//   struct add_options { std::string db; std::string name; };
//   add_options a;
//   const std::vector<agg::flag> table = {
//       agg::text_flag("db", "PATH", "SQLite file", a.db, /*required=*/true),
//       agg::text_flag("name", "NAME", "who the key is for", a.name, /*required=*/true)};
//   const auto found = agg::parse_flags(table, rest, env, /*max_positionals=*/0);

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agg {

// One flag: `--name VALUE` or `--name=VALUE` on the command line, or AGG_<NAME> in the
// environment (dashes become underscores, upper case); the command line wins.
struct flag {
  std::string name;          // without dashes, e.g. "queue-capacity"
  std::string value_name;    // shown in --help after the flag: "N", "PATH", "normal|full"
  std::string help;          // the flag's effect, a few words
  std::string default_text;  // shown in --help as "(default X)"; empty: none shown
  bool required = false;     // true: absent from command line and environment is an error
  // Parses `value` and stores it; throws std::invalid_argument naming the flag.
  std::function<void(const std::string& value)> set;
};

// Rows for the common kinds of value. Each binds `field`: its current value is the default shown
// in --help, and a parsed value is stored into it (so `field` must outlive parse_flags).

// Any non-empty text.
flag text_flag(std::string name, std::string value_name, std::string help, std::string& field,
               bool required = false);

// A decimal integer from `min` to `max` (no sign, no spaces).
template <class Int>
flag uint_flag(std::string name, std::string value_name, std::string help, Int& field, Int min,
               Int max);

// One of the names in `choices`; the error lists them, and so does the value shown in --help
// ("normal|full") when `value_name` is empty.
template <class T>
flag choice_flag(std::string name, std::string value_name, std::string help, T& field,
                 std::vector<std::pair<std::string, T>> choices);

// What parse_flags found besides the flags' values (which the rows stored).
struct parsed_flags {
  bool help = false;                     // -h or --help: print the usage and do nothing else
  std::vector<std::string> positionals;  // arguments that are not flags, in order
};

// Reads `args` (argv without the program and command words) and `env` ("NAME=value" strings;
// AGG_* names that are no flag of `table` are ignored) and calls each given flag's `set` once
// with its last value. Throws std::invalid_argument with a one-line message naming the flag: an
// unknown flag, a flag without its value, a bad value, a missing required flag, or more than
// `max_positionals` arguments that are not flags. With -h/--help, no value is parsed.
parsed_flags parse_flags(const std::vector<flag>& table, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, std::size_t max_positionals = 0);

// The flag lines of a --help text: each flag with its value, effect and default, then -h.
std::string describe_flags(const std::vector<flag>& table);

// A command line split into the subcommand it names and that command's own arguments.
struct command_line {
  std::string command;            // the subcommand, e.g. "keys"; "" = none (serve)
  std::vector<std::string> rest;  // the arguments after the command word; all of them if none
};

// The first argument names a subcommand when it does not start with '-' and is one of
// `commands`: {"keys", "add", "--db", "x"} with commands {"keys"} gives {"keys", {"add", "--db",
// "x"}}. Otherwise command is "" and rest is `args`, so a stray word is rejected by the default
// command's parse_flags. Only the first argument is looked at: a flag's value (`--db keys`) is
// never taken for a command. Nested commands ("keys add") split `rest` again.
command_line split_command(const std::vector<std::string>& args,
                           std::span<const std::string_view> commands);

// The one-line messages of a bad value, shared by the rows above.
[[noreturn]] void throw_bad_value(std::string_view name, std::string_view value,
                                  std::string_view expected);
// Parses a decimal integer from `min` to `max`, else throw_bad_value.
std::uint64_t parse_flag_uint(std::string_view name, std::string_view value, std::uint64_t min,
                              std::uint64_t max);

template <class Int>
flag uint_flag(std::string name, std::string value_name, std::string help, Int& field, Int min,
               Int max) {
  flag f{std::move(name), std::move(value_name), std::move(help), std::to_string(field), false,
         nullptr};
  f.set = [&field, name = f.name, min, max](const std::string& v) {
    field = static_cast<Int>(parse_flag_uint(name, v, min, max));
  };
  return f;
}

template <class T>
flag choice_flag(std::string name, std::string value_name, std::string help, T& field,
                 std::vector<std::pair<std::string, T>> choices) {
  const bool list_in_value_name = value_name.empty();
  std::string expected, default_text;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (list_in_value_name) value_name += (i ? "|" : "") + choices[i].first;
    expected += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i].first;
    if (choices[i].second == field) default_text = choices[i].first;
  }
  flag f{std::move(name), std::move(value_name), std::move(help), std::move(default_text), false,
         nullptr};
  f.set = [&field, name = f.name, expected = std::move(expected),
           choices = std::move(choices)](const std::string& v) {
    for (const auto& [text, value] : choices)
      if (v == text) {
        field = value;
        return;
      }
    throw_bad_value(name, v, "expected " + expected);
  };
  return f;
}

}  // namespace agg
