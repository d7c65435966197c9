// The galleries of a report group's seeds, side by side (Torch-free): for each group of the HTML report, the
// gallery.json each seed's `moexp evaluate --gallery` left in its run folder's gallery/, shown with aligned expert j of
// every seed in column j (the alignment of the group's routing figures), so one scheme's experts line up across seeds.
#pragma once

#include "report/gallery_manifest.hpp"
#include "report/group_figures.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moexp::report {

struct GroupGallery {
  std::size_t group = 0;                          // index into the report's GroupFigures
  std::vector<std::optional<SeedGallery>> seeds;  // per GroupFigures::run_ids entry (nullopt: none there)
  std::vector<std::string> problems;              // "run 12: <why its gallery.json could not be read>"
};

// The gallery folder of run `run_id` of the database at `db_path`: its run folder's gallery/.
std::filesystem::path run_gallery_folder(const std::filesystem::path& db_path, std::int64_t run_id);

// For every group with at least one seed's gallery (or a problem reading one): the galleries of its first MoE layer.
std::vector<GroupGallery> load_group_galleries(const std::filesystem::path& db_path,
                                               const std::vector<GroupFigures>& groups);

// The report's section: per group a table, a row per seed, a column per aligned expert holding that seed's matched
// expert's first `per_cell` top images, and the seed's control images last; "" when there is no gallery.
std::string group_galleries_html(const std::vector<GroupFigures>& groups, const std::vector<GroupGallery>& galleries,
                                 std::size_t per_cell = 8);

}  // namespace moexp::report
