// Downloading one file over HTTP(S) with libcurl: resume of a partial file (Range), retries with backoff on
// transient failures, a stall timeout, proxies from the usual environment variables (libcurl's own handling of
// http_proxy / https_proxy / no_proxy). Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace moexp::fetch {

struct HttpOptions {
  int attempts = 5;            // tries per file, the first included
  double first_backoff_s = 1;  // wait before the second try; doubles after each
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;  // give up a try that moves less than 1 byte/s for this long
};

// Called as bytes arrive: (bytes on disk, total bytes or 0 when unknown).
using ByteProgress = std::function<void(std::int64_t done, std::int64_t total)>;

// Download `url` into `part`, appending to what `part` already holds (asking the server for the rest with a Range
// request; a server that ignores it restarts the file). Transient failures (connection refused, reset or cut,
// timeouts, HTTP 429 and 5xx) are retried within `options.attempts`, resuming each time. Throws moexp::Error naming
// the URL on a permanent failure (HTTP 404, bad URL, out of tries) and on a full disk ("disk full writing ...");
// `part` is kept for the next resume in both cases.
void download(const std::string& url, const std::filesystem::path& part, const HttpOptions& options,
              const ByteProgress& progress);

}  // namespace moexp::fetch
