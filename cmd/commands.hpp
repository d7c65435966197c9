// Subcommands of moexp: each file in cmd/ registers one with the CLI and runs it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace moexp::cli {

// A registered subcommand's action, run after parsing; returns the process exit code.
using Action = std::function<int()>;

// `moexp train`: registers its options on `app` and returns the action that runs it.
Action setup_train(CLI::App& app);

// `moexp evaluate`.
Action setup_evaluate(CLI::App& app);

// `moexp sweep` and `moexp sweep status`.
Action setup_sweep(CLI::App& app);

// `moexp report` and `moexp runs` (Torch-free).
Action setup_report(CLI::App& app);
Action setup_runs(CLI::App& app);

// `moexp data fetch` and `moexp data list` (Torch-free).
Action setup_data(CLI::App& app);

}  // namespace moexp::cli
