#include "http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace moexp::test {
namespace {

void send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) {
      return;  // the client went away
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::string header_value(const std::string& request, const std::string& name) {
  const auto at = request.find("\r\n" + name + ":");
  if (at == std::string::npos) {
    return "";
  }
  auto start = request.find_first_not_of(' ', at + name.size() + 3);
  return request.substr(start, request.find("\r\n", start) - start);
}

}  // namespace

HttpServer::HttpServer() {
  m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(m_listen, 16) != 0 || ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("test HTTP server: cannot listen on 127.0.0.1");
  }
  m_port = ntohs(addr.sin_port);
  m_thread = std::thread([this] { loop(); });
}

HttpServer::~HttpServer() {
  m_stop = true;
  m_thread.join();
  ::close(m_listen);
}

std::string HttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

void HttpServer::serve(const std::string& path, std::string body) {
  std::lock_guard lock(m_mutex);
  m_bodies[path] = std::move(body);
}

void HttpServer::fail_with(const std::string& path, int status) {
  std::lock_guard lock(m_mutex);
  m_fail[path] = status;
}

void HttpServer::cut_once_after(const std::string& path, std::size_t bytes) {
  std::lock_guard lock(m_mutex);
  m_cut[path] = bytes;
}

std::vector<std::string> HttpServer::ranges(const std::string& path) const {
  std::lock_guard lock(m_mutex);
  auto it = m_ranges.find(path);
  return it == m_ranges.end() ? std::vector<std::string>{} : it->second;
}

void HttpServer::loop() {
  while (!m_stop) {
    pollfd p{m_listen, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) {
      continue;
    }
    const int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (client >= 0) {
      answer(client);
      ::close(client);
    }
  }
}

void HttpServer::answer(int client) {
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      return;
    }
    request.append(buffer, static_cast<std::size_t>(n));
  }
  const auto path_start = request.find(' ') + 1;
  const std::string path = request.substr(path_start, request.find(' ', path_start) - path_start);
  const std::string range = header_value(request, "Range");
  std::string body;
  int fail = 0;
  std::size_t cut = std::string::npos;
  {
    std::lock_guard lock(m_mutex);
    m_ranges[path].push_back(range);
    if (auto f = m_fail.find(path); f != m_fail.end()) {
      fail = f->second;
    } else if (auto b = m_bodies.find(path); b != m_bodies.end()) {
      body = b->second;
    } else {
      fail = 404;
    }
    if (auto c = m_cut.find(path); c != m_cut.end()) {
      cut = c->second;
      m_cut.erase(c);
    }
  }
  if (fail != 0) {
    const std::string head =
        "HTTP/1.1 " + std::to_string(fail) + " Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    send_all(client, head.data(), head.size());
    return;
  }
  std::size_t from = 0;
  if (range.rfind("bytes=", 0) == 0) {
    from = std::stoul(range.substr(6));
    if (from >= body.size()) {
      const std::string head = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" +
                               std::to_string(body.size()) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      send_all(client, head.data(), head.size());
      return;
    }
  }
  std::string head = from > 0 ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(from) + "-" +
                                    std::to_string(body.size() - 1) + "/" + std::to_string(body.size()) + "\r\n"
                              : std::string("HTTP/1.1 200 OK\r\n");
  head += "Content-Length: " + std::to_string(body.size() - from) + "\r\nConnection: close\r\n\r\n";
  send_all(client, head.data(), head.size());
  const std::size_t length = std::min(body.size() - from, cut);
  send_all(client, body.data() + from, length);
}

}  // namespace moexp::test
