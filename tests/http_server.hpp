// A loopback HTTP/1.1 server for the fetch tests: serves in-memory files on 127.0.0.1 (a free port), honours
// "Range: bytes=N-", and on request answers a path with an error status or cuts a response short once. Nothing
// outside 127.0.0.1 is touched. One connection at a time, "Connection: close".
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace moexp::test {

class HttpServer {
 public:
  HttpServer();   // binds and starts serving
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "http://127.0.0.1:PORT/path".
  std::string url(const std::string& path) const;

  // Serve `body` at `path` (e.g. "/cifar-10-binary.tar.gz").
  void serve(const std::string& path, std::string body);
  // Answer every request for `path` with HTTP `status` and no body.
  void fail_with(const std::string& path, int status);
  // Cut the next response for `path` after `bytes` bytes of its body (the headers promise the whole length).
  void cut_once_after(const std::string& path, std::size_t bytes);
  // The Range header of each request for `path`, in order ("" for none).
  std::vector<std::string> ranges(const std::string& path) const;

 private:
  void loop();
  void answer(int client);

  int m_listen = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::map<std::string, std::string> m_bodies;
  std::map<std::string, int> m_fail;
  std::map<std::string, std::size_t> m_cut;
  std::map<std::string, std::vector<std::string>> m_ranges;
  std::thread m_thread;
};

}  // namespace moexp::test
