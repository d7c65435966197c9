#include "sweep/slurm/slurm_client.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "sweep/command.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <fstream>
#include <sstream>

namespace moexp::sweep {
namespace {

constexpr std::chrono::seconds kCommandTimeout{60};

std::string first_line(const std::string& text) {
  auto t = core::trim(text);
  return std::string(t.substr(0, t.find('\n')));
}

}  // namespace

bool slurm_available() {
  auto r = run_command({"sbatch", "--version"}, std::chrono::seconds(10));
  return !r.not_found && r.exit_code == 0;
}

std::int64_t SlurmCli::submit(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"sbatch", "--parsable"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, kCommandTimeout);
  if (r.not_found) {
    throw Error("slurm: sbatch is not on PATH (is this a Slurm login node?)");
  }
  auto id = slurm::parse_sbatch_job_id(r.out);
  if (r.exit_code != 0 || !id) {
    throw Error(fmt::format("slurm: sbatch refused the array: {}", first_line(r.err.empty() ? r.out : r.err)));
  }
  return *id;
}

std::optional<std::vector<slurm::TaskRecord>> SlurmCli::tasks(std::int64_t array_job_id) {
  const auto id = std::to_string(array_job_id);
  auto q = run_command({"squeue", "-h", "-r", "-t", "all", "-j", id, "-O", "ArrayTaskID:|,State:|,Reason:|,exit_code:"},
                       kCommandTimeout);
  if (q.exit_code == 0) {
    auto records = slurm::parse_squeue(q.out);
    if (!records.empty()) {
      return records;
    }
  }
  const bool purged = q.err.find("Invalid job id") != std::string::npos || (q.exit_code == 0 && q.out.empty());
  if (!purged) {
    // squeue failed for another reason; scontrol reads the same controller memory.
    auto s = run_command({"scontrol", "-o", "show", "job", id}, kCommandTimeout);
    if (s.exit_code == 0) {
      if (auto records = slurm::parse_scontrol(s.out, array_job_id); !records.empty()) {
        return records;
      }
    } else if (s.err.find("Invalid job id") == std::string::npos) {
      return std::nullopt;  // the controller cannot be reached
    }
  }
  // Purged from the controller: the job-completion file is the record.
  auto path = jobcomp_path();
  if (!path) {
    return std::vector<slurm::TaskRecord>{};
  }
  std::ifstream in(*path);
  std::stringstream text;
  text << in.rdbuf();
  return slurm::parse_jobcomp(text.str(), array_job_id);
}

void SlurmCli::cancel(std::int64_t array_job_id) {
  // scancel exits 0 even for unknown ids; the next squeue tells what happened.
  run_command({"scancel", std::to_string(array_job_id)}, kCommandTimeout);
}

std::optional<std::string> SlurmCli::jobcomp_path() {
  if (!m_jobcomp) {
    m_jobcomp.emplace();
    auto r = run_command({"scontrol", "show", "config"}, kCommandTimeout);
    std::istringstream in(r.out);
    std::string line;
    bool filetxt = false;
    std::string location;
    while (std::getline(in, line)) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) {
        continue;
      }
      const auto key = core::trim(std::string_view(line).substr(0, eq));
      const auto value = std::string(core::trim(std::string_view(line).substr(eq + 1)));
      if (key == "JobCompType") {
        filetxt = value == "jobcomp/filetxt";
      } else if (key == "JobCompLoc") {
        location = value;
      }
    }
    if (filetxt && !location.empty()) {
      *m_jobcomp = location;
    }
  }
  return *m_jobcomp;
}

}  // namespace moexp::sweep
