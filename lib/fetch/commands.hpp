// `moexp data fetch` and `moexp data list` (Torch-free): the command-line side of lib/fetch.
#pragma once

#include <string>
#include <vector>

namespace moexp::fetch {

struct DataFetchRequest {
  std::vector<std::string> datasets;  // names from the catalog
  std::string to;                     // root folder ("": default_data_root())
};

// Fetch each dataset in turn, with a progress bar on stderr; one line per dataset on stdout. Returns 0; throws
// InputError for an unknown name (before anything is downloaded), Error/DataError as fetch_dataset does.
int run_data_fetch(const DataFetchRequest& request);

struct DataListRequest {
  std::string to;  // root folder ("": default_data_root())
};

// A table of every catalog dataset: present or not, where, size, and whether its recorded checksums verify now.
int run_data_list(const DataListRequest& request);

}  // namespace moexp::fetch
