// Error types. Exactly one place prints them: cli::moexp_main (cmd/moexp_main.cpp).
#pragma once

#include <stdexcept>
#include <string>

namespace moexp {

// A failure moexp reports as is, with a precise message; exit code 1. Callers may catch it to add context.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from the user (config, command line, data files, an unknown run): exit code 2, nothing written.
class InputError : public Error {
 public:
  using Error::Error;
};

// An experiment or sweep file (or a --set override) that is malformed or invalid.
class ConfigError : public InputError {
 public:
  using InputError::InputError;
};

// A data file that is missing, truncated or malformed.
class DataError : public InputError {
 public:
  using InputError::InputError;
};

// A SQLite failure (open, migrate, query); the message names the database and the statement's purpose.
class StoreError : public Error {
 public:
  using Error::Error;
};

}  // namespace moexp
