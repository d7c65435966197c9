#include "sweep/slurm/slurm_records.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <map>
#include <sstream>

namespace moexp::sweep::slurm {
namespace {

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.pop_back();
    }
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

// "Key=value Key2=value2 ..." as a map (values have no spaces in the fields read here).
std::map<std::string, std::string> key_values(const std::string& line) {
  std::map<std::string, std::string> kv;
  std::istringstream in(line);
  std::string token;
  while (in >> token) {
    const auto eq = token.find('=');
    if (eq != std::string::npos && eq > 0) {
      kv.emplace(token.substr(0, eq), token.substr(eq + 1));
    }
  }
  return kv;
}

// "code:signal" (scontrol, jobcomp).
void set_exit(TaskRecord& r, const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    return;
  }
  auto code = to_int(std::string_view(text).substr(0, colon));
  auto sig = to_int(std::string_view(text).substr(colon + 1));
  if (sig && *sig != 0) {
    r.signal = static_cast<int>(*sig);
  } else if (code) {
    r.exit_code = static_cast<int>(*code);
  }
}

std::string first_word(const std::string& state) {
  return state.substr(0, state.find(' '));
}

// Keep the last record per task, ordered by task.
std::vector<TaskRecord> last_per_task(std::vector<TaskRecord> records) {
  std::map<std::int64_t, TaskRecord> by_task;
  for (auto& r : records) {
    by_task[r.task] = std::move(r);
  }
  std::vector<TaskRecord> out;
  for (auto& [task, r] : by_task) {
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

bool is_terminal(const std::string& state) {
  static const std::array<std::string_view, 9> kTerminal{"COMPLETED", "FAILED",    "CANCELLED",
                                                         "TIMEOUT",   "NODE_FAIL", "OUT_OF_MEMORY",
                                                         "PREEMPTED", "BOOT_FAIL", "DEADLINE"};
  const auto word = first_word(state);
  return std::find(kTerminal.begin(), kTerminal.end(), word) != kTerminal.end();
}

std::vector<std::int64_t> expand_task_ranges(const std::string& text) {
  std::vector<std::int64_t> tasks;
  const std::string list = text.substr(0, text.find('%'));
  std::istringstream in(list);
  std::string part;
  while (std::getline(in, part, ',')) {
    const auto dash = part.find('-');
    auto first = to_int(std::string_view(part).substr(0, dash));
    auto last = dash == std::string::npos ? first : to_int(std::string_view(part).substr(dash + 1));
    if (!first || !last || *last < *first || *last - *first > 1'000'000) {
      continue;
    }
    for (auto t = *first; t <= *last; ++t) {
      tasks.push_back(t);
    }
  }
  return tasks;
}

std::vector<TaskRecord> parse_squeue(const std::string& text) {
  std::vector<TaskRecord> records;
  for (const auto& line : lines_of(text)) {
    auto fields = core::split(line, '|');
    if (fields.size() < 4) {
      continue;
    }
    auto task = to_int(core::trim(fields[0]));
    if (!task) {
      continue;
    }
    TaskRecord r;
    r.task = *task;
    r.state = first_word(std::string(core::trim(fields[1])));
    r.reason = std::string(core::trim(fields[2]));
    if (auto status = to_int(core::trim(fields[3])); status && is_terminal(r.state)) {
      if ((*status & 0x7f) != 0) {
        r.signal = static_cast<int>(*status & 0x7f);
      } else {
        r.exit_code = static_cast<int>((*status >> 8) & 0xff);
      }
    }
    records.push_back(std::move(r));
  }
  return last_per_task(std::move(records));
}

std::vector<TaskRecord> parse_scontrol(const std::string& text, std::int64_t array_job_id) {
  std::vector<TaskRecord> records;
  for (const auto& line : lines_of(text)) {
    auto kv = key_values(line);
    if (kv["ArrayJobId"] != std::to_string(array_job_id) || kv["ArrayTaskId"].empty()) {
      continue;
    }
    TaskRecord r;
    r.state = first_word(kv["JobState"]);
    r.reason = kv["Reason"];
    if (is_terminal(r.state)) {
      set_exit(r, kv["ExitCode"]);
    }
    for (auto task : expand_task_ranges(kv["ArrayTaskId"])) {
      r.task = task;
      records.push_back(r);
    }
  }
  return last_per_task(std::move(records));
}

std::vector<TaskRecord> parse_jobcomp(const std::string& text, std::int64_t array_job_id) {
  std::vector<TaskRecord> records;
  const auto id = std::to_string(array_job_id);
  for (const auto& line : lines_of(text)) {
    auto kv = key_values(line);
    TaskRecord r;
    if (kv.count("ArrayTaskId") > 0 && kv["ArrayJobId"] == id) {
      auto task = to_int(kv["ArrayTaskId"]);
      if (!task) {
        continue;
      }
      r.task = *task;
    } else if (kv.count("ArrayTaskId") == 0 && kv["JobId"] == id) {
      r.task = -1;  // the array's pending tasks, ended together
    } else {
      continue;
    }
    r.state = first_word(kv["JobState"]);
    set_exit(r, kv["ExitCode"]);
    records.push_back(std::move(r));
  }
  return last_per_task(std::move(records));
}

std::optional<std::int64_t> parse_sbatch_job_id(const std::string& text) {
  auto trimmed = std::string(core::trim(text));
  auto id = to_int(std::string_view(trimmed).substr(0, trimmed.find(';')));
  if (!id || *id <= 0) {
    return std::nullopt;
  }
  return id;
}

}  // namespace moexp::sweep::slurm
