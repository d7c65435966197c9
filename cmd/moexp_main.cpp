// Entry point: builds the CLI, runs the chosen subcommand, and is the one place that prints errors.
#include "commands.hpp"

#include "core/error.hpp"
#include "core/host.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace moexp::cli {

int moexp_main(int argc, char** argv) {
  core::keep_freed_memory();

  CLI::App app{"moexp: mixture-of-experts experiments on CNNs"};
  app.set_version_flag("--version", std::string("moexp ") + MOEXP_VERSION);
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, Action>> commands;
  auto add = [&](const char* name, const char* help, Action (*setup)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands.emplace_back(sub, setup(*sub));
  };
  add("train", "train one experiment from a TOML file", setup_train);
  add("evaluate", "evaluate a trained run or checkpoint: accuracy vs k, forced experts, routing matrices",
      setup_evaluate);
  add("sweep", "run a sweep of experiments in parallel, resumably (or: sweep status SPEC|NAME)", setup_sweep);
  add("report", "compare constraint schemes: mean ± std over seeds, as text, Markdown, CSV, JSON, LaTeX or HTML",
      setup_report);
  add("runs", "list runs with status, key config values and headline metrics", setup_runs);
  add("data", "datasets: fetch (download, verify, unpack) and list", setup_data);

  try {
    // CLI11 says only "A subcommand is required" for a misspelt command: name the word and the nearest command.
    if (argc > 1 && argv[1][0] != '-') {
      std::vector<std::string> names;
      for (auto& [sub, action] : commands) {
        names.push_back(sub->get_name());
      }
      const std::string word = argv[1];
      if (std::find(names.begin(), names.end(), word) == names.end()) {
        auto msg = fmt::format("unknown command '{}'; commands are {}", word, core::join_alternatives(names));
        if (auto guess = core::did_you_mean(word, names)) {
          msg += fmt::format(" (did you mean '{}'?)", *guess);
        }
        throw InputError(msg);
      }
    }
    app.parse(argc, argv);
    for (auto& [sub, action] : commands) {
      if (sub->parsed()) {
        return action();
      }
    }
    return 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error ("Could not convert: --resume = abc"), with the hint on the same line.
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    fmt::print(stderr, "moexp: error: {} (see --help)\n", core::trim(what));
    return 2;
  } catch (const InputError& e) {
    // Messages quote what the user typed (a --set value, a TOML key, a run name): control characters are escaped
    // here, the one place errors are printed, so every error is one line whatever it quotes.
    fmt::print(stderr, "moexp: error: {}\n", core::printable(e.what()));
    return 2;
  } catch (const Error& e) {
    fmt::print(stderr, "moexp: error: {}\n", core::printable(e.what()));
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the system refuses (too long, not a folder, a loop, no permission): the user's input, named, one line.
    const auto code = e.code();
    const bool input = code == std::errc::filename_too_long || code == std::errc::not_a_directory ||
                       code == std::errc::too_many_symbolic_link_levels || code == std::errc::permission_denied ||
                       code == std::errc::no_such_file_or_directory;
    fmt::print(stderr, "moexp: error: {}: {}\n", core::printable(e.path1().string()), code.message());
    return input ? 2 : 1;
  } catch (const std::exception& e) {
    std::string what = e.what();
    fmt::print(stderr, "moexp: internal error: {}\n", core::printable(what.substr(0, what.find('\n'))));
    return 1;
  }
}

}  // namespace moexp::cli
