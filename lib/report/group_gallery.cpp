#include "report/group_gallery.hpp"

#include "core/error.hpp"
#include "report/svg.hpp"
#include "store/result_store.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace moexp::report {

std::filesystem::path run_gallery_folder(const std::filesystem::path& db_path, std::int64_t run_id) {
  return store::run_folder(db_path, run_id) / "gallery";
}

std::vector<GroupGallery> load_group_galleries(const std::filesystem::path& db_path,
                                               const std::vector<GroupFigures>& groups) {
  std::vector<GroupGallery> out;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    GroupGallery gallery{.group = g, .seeds = {}, .problems = {}};
    bool any = false;
    for (auto run_id : groups[g].run_ids) {
      const auto manifest = run_gallery_folder(db_path, run_id) / kGalleryManifest;
      auto& seed = gallery.seeds.emplace_back();
      std::error_code ec;
      if (!std::filesystem::exists(manifest, ec)) {
        continue;
      }
      try {
        seed = read_gallery_manifest(manifest);
        any = true;
      } catch (const Error& e) {
        gallery.problems.push_back(fmt::format("run {}: {}", run_id, e.what()));
      }
    }
    if (any || !gallery.problems.empty()) {
      out.push_back(std::move(gallery));
    }
  }
  return out;
}

namespace {

std::string thumbnail(const ManifestImage& image, bool with_weight) {
  const auto caption = with_weight ? fmt::format("{} · w {:.2f}", image.label, image.weight) : image.label;
  return fmt::format("<img class=\"thumb\" src=\"data:image/png;base64,{}\" title=\"{}\" alt=\"{}\">", image.png_base64,
                     html_escape(caption), html_escape(caption));
}

}  // namespace

std::string group_galleries_html(const std::vector<GroupFigures>& groups, const std::vector<GroupGallery>& galleries,
                                 std::size_t per_cell) {
  if (galleries.empty()) {
    return "";
  }
  std::string out = fmt::format(
      "<h2>What each expert sees, over seeds</h2>\n<p class=\"note\">Per seed that has a gallery (`moexp evaluate RUN "
      "--gallery`), in the aligned order of the group's routing figures, so column e<i>j</i> is the same expert in "
      "every seed. Classification: the first MoE layer's top {} images of each expert by gate weight (hover for the "
      "label and weight); the last column holds that seed's control images, drawn at random from the split. "
      "Detection: the first MoE head's (object, level) tokens of the validation split that each expert is the top "
      "expert for, by COCO size, pyramid level and side.</p>\n",
      per_cell);
  for (const auto& gallery : galleries) {
    const auto& g = groups.at(gallery.group);
    out += fmt::format("<h3>{}</h3>\n", html_escape(g.caption));
    for (const auto& problem : gallery.problems) {
      out += fmt::format("<p class=\"note\">gallery not shown: {}</p>\n", html_escape(problem));
    }
    std::size_t experts = 0;
    bool objects = false;
    for (const auto& seed : gallery.seeds) {
      experts = std::max({experts, seed ? seed->top_by_expert.size() : 0, seed ? seed->objects_by_expert.size() : 0});
      objects = objects || (seed && !seed->objects_by_expert.empty());
    }
    if (experts == 0) {
      continue;
    }
    out += "<div class=\"table-wrap\"><table class=\"gallery\"><tr><th>seed</th>";
    for (std::size_t j = 0; j < experts; ++j) {
      out += fmt::format("<th>e{}</th>", j);
    }
    out += objects ? "</tr>\n" : "<th>control</th></tr>\n";
    for (std::size_t s = 0; s < gallery.seeds.size(); ++s) {
      const auto& seed = gallery.seeds[s];
      out += fmt::format("<tr><td>{} (run {})</td>", html_escape(s < g.seeds.size() ? g.seeds[s] : "?"),
                         s < g.run_ids.size() ? g.run_ids[s] : 0);
      if (!seed) {
        out += fmt::format("<td colspan=\"{}\" class=\"note\">no gallery</td></tr>\n", experts + (objects ? 0 : 1));
        continue;
      }
      const auto& order = s < g.alignment.expert_of.size() ? g.alignment.expert_of[s] : std::vector<std::size_t>{};
      if (objects) {  // detection: each aligned expert's objects by size and level
        for (std::size_t j = 0; j < experts; ++j) {
          const auto e = j < order.size() ? order[j] : j;
          out += "<td>";
          if (e < seed->objects_by_expert.size()) {
            out += expert_objects_html(seed->objects_by_expert[e], static_cast<std::int64_t>(j),
                                       fmt::format("{} expert {}", seed->head, e));
          }
          out += "</td>";
        }
        out += "</tr>\n";
        continue;
      }
      for (std::size_t j = 0; j < experts; ++j) {
        // Aligned position j holds this seed's expert expert_of[s][j].
        const auto e = j < order.size() ? order[j] : j;
        std::string cell;
        if (e < seed->top_by_expert.size()) {
          const auto& top = seed->top_by_expert[e];
          for (std::size_t i = 0; i < top.size() && i < per_cell; ++i) {
            cell += thumbnail(top[i], true);
          }
        }
        out += fmt::format("<td><div class=\"thumbs\" title=\"seed expert {}\">{}</div></td>", e, cell);
      }
      std::string control;
      for (std::size_t i = 0; i < seed->control.size() && i < per_cell; ++i) {
        control += thumbnail(seed->control[i], false);
      }
      out += fmt::format("<td><div class=\"thumbs control\">{}</div></td></tr>\n", control);
    }
    out += "</table></div>\n";
  }
  return out;
}

}  // namespace moexp::report
