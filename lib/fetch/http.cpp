#include "fetch/http.hpp"

#include "core/error.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>

namespace moexp::fetch {
namespace fs = std::filesystem;
namespace {

// curl_global_init once per process (libcurl requires it before any other call from multi-threaded programs).
void init_curl_once() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!done) {
    throw Error("cannot initialise libcurl");
  }
}

struct Transfer {
  std::FILE* out = nullptr;
  int write_errno = 0;
  std::int64_t offset = 0;  // bytes on disk before this try
  std::int64_t written = 0;
  const ByteProgress* progress = nullptr;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (std::fwrite(data, 1, bytes, t->out) != bytes) {
    t->write_errno = errno != 0 ? errno : EIO;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  t->written += static_cast<std::int64_t>(bytes);
  return bytes;
}

int on_progress(void* user, curl_off_t total, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->progress) {
    (*t->progress)(t->offset + t->written, total > 0 ? t->offset + total : 0);
  }
  return 0;
}

enum class TryResult { done, retry, restart };

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};

// One try: returns whether to stop, retry (resuming) or restart from byte 0; throws on a permanent failure.
TryResult try_once(const std::string& url, const fs::path& part, const HttpOptions& options,
                   const ByteProgress& progress, std::string& last_error) {
  std::error_code ec;
  const auto on_disk = fs::exists(part, ec) ? static_cast<std::int64_t>(fs::file_size(part, ec)) : 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(part.c_str(), "ab"), &std::fclose);
  if (!out) {
    throw Error(fmt::format("cannot write {}: {}", part.string(), std::strerror(errno)));
  }
  std::unique_ptr<CURL, CurlDeleter> h(curl_easy_init());
  if (!h) {
    throw Error("cannot start a libcurl transfer");
  }
  Transfer t{out.get(), 0, on_disk, 0, &progress};
  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h.get(), CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h.get(), CURLOPT_USERAGENT, "moexp/" MOEXP_VERSION);
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_TIME, options.stall_timeout_s);
  curl_easy_setopt(h.get(), CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(on_disk));
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h.get(), CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, error_text);
  const CURLcode code = curl_easy_perform(h.get());
  long status = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (std::fflush(out.get()) != 0 && t.write_errno == 0) {
    t.write_errno = errno;
  }
  if (t.write_errno != 0) {
    throw Error(fmt::format("{} writing {} ({}); run the same command again to resume",
                            t.write_errno == ENOSPC ? "disk full" : "cannot write", part.string(),
                            std::strerror(t.write_errno)));
  }
  if (code == CURLE_OK) {
    return TryResult::done;
  }
  last_error = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
  if (code == CURLE_RANGE_ERROR || (code == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
    return TryResult::restart;  // the server cannot continue this partial file: start it again
  }
  if (code == CURLE_HTTP_RETURNED_ERROR) {
    if (status == 429 || status >= 500) {
      return TryResult::retry;
    }
    throw Error(fmt::format("downloading {}: the server answered HTTP {}", url, status));
  }
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_LOGIN_DENIED:
      throw Error(fmt::format("downloading {}: {}", url, last_error));
    default:
      return TryResult::retry;  // connection refused, reset or cut, timeouts, DNS: may pass
  }
}

}  // namespace

void download(const std::string& url, const fs::path& part, const HttpOptions& options, const ByteProgress& progress) {
  init_curl_once();
  std::string last_error;
  double backoff = options.first_backoff_s;
  for (int attempt = 1; attempt <= options.attempts; ++attempt) {
    switch (try_once(url, part, options, progress, last_error)) {
      case TryResult::done:
        return;
      case TryResult::restart: {
        std::error_code ec;
        fs::remove(part, ec);
        break;
      }
      case TryResult::retry:
        break;
    }
    if (attempt < options.attempts) {
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
      backoff *= 2;
    }
  }
  throw Error(fmt::format("downloading {}: {} (after {} tries); run the same command again to resume", url, last_error,
                          options.attempts));
}

}  // namespace moexp::fetch
