#include "sweep/command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/process.hpp>

#include <future>

namespace bp = boost::process;

namespace moexp::sweep {

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  CommandResult result;
  if (argv.empty()) {
    result.not_found = true;
    return result;
  }
  boost::filesystem::path exe = argv[0];
  if (argv[0].find('/') == std::string::npos) {
    exe = bp::search_path(argv[0]);
  }
  if (exe.empty() || !boost::filesystem::exists(exe)) {
    result.not_found = true;
    result.err = argv[0] + ": command not found";
    return result;
  }
  boost::asio::io_context io;
  std::future<std::string> out, err;
  std::error_code ec;
  bp::child child(bp::exe = exe, bp::args = std::vector<std::string>(argv.begin() + 1, argv.end()), bp::std_in.close(),
                  bp::std_out > out, bp::std_err > err, io, ec);
  if (ec) {
    result.err = ec.message();
    return result;
  }
  io.run_for(timeout);
  if (!io.stopped()) {
    result.timed_out = true;
    child.terminate(ec);
    io.run();
  }
  child.wait(ec);
  result.out = out.get();
  result.err = err.get();
  if (!result.timed_out) {
    result.exit_code = child.exit_code();
  }
  return result;
}

}  // namespace moexp::sweep
