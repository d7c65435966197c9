#include "report/evaluation_view.hpp"

#include "core/json.hpp"
#include "core/metric_catalog.hpp"
#include "core/text_table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>

namespace moexp::report {
namespace {

std::string pct(double x) {
  return fmt::format("{:.2f}%", 100.0 * x);
}

std::string matrix_table(const std::vector<std::vector<double>>& rows, const std::vector<std::string>& names,
                         const std::vector<std::string>& extra_header, const std::vector<std::string>& extra) {
  const std::size_t experts = rows.empty() ? 0 : rows.front().size();
  std::vector<std::string> header{""};
  for (std::size_t e = 0; e < experts; ++e) {
    header.push_back(fmt::format("e{}", e));
  }
  header.insert(header.end(), extra_header.begin(), extra_header.end());
  core::TextTable table(header);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string> cells{r < names.size() ? names[r] : fmt::format("{}", r)};
    for (double w : rows[r]) {
      cells.push_back(fmt::format("{:.3f}", w));
    }
    if (r < extra.size()) {
      cells.push_back(extra[r]);
    }
    table.add_row(cells);
  }
  return table.render();
}

// Display names of the groups of kind `kind` (empty: groups are shown by number).
std::vector<std::string> group_names(const EvaluationView& view, const GroupRouting& g) {
  return g.kind == kClassGroup        ? view.class_names
         : g.kind == kSuperclassGroup ? view.superclass_names
                                      : fixed_group_names(g.kind, g.group_expert.size());
}

std::string layer_text(const LayerRouting& lr, const EvaluationView& view, const EvaluatedSetting& s) {
  std::string out =
      fmt::format("\nMoE layer {} (position {}), trained routing (k={}):\n", lr.layer, lr.position, view.trained_k);
  core::TextTable experts({"expert", "importance", "samples", "top-5 classes by mean weight"});
  for (std::size_t e = 0; e < lr.importance_share.size(); ++e) {
    std::string tops;
    for (const auto& [c, w] : top_classes(lr, e)) {
      tops += fmt::format("{}{} {:.2f}", tops.empty() ? "" : ", ",
                          c < view.class_names.size() ? view.class_names[c] : std::to_string(c), w);
    }
    experts.add_row({fmt::format("e{}", e), fmt::format("{:.3f}", lr.importance_share[e]),
                     fmt::format("{:.3f}", lr.sample_share[e]), tops});
  }
  out += experts.render();
  out +=
      fmt::format("importance CV {:.3f}, sample CV {:.3f}, living experts {}, max share {:.3f}{}\n", lr.importance_cv,
                  lr.sample_cv, lr.living_experts, lr.max_share, lr.collapsed ? "  ** COLLAPSED **" : "");
  std::string mi;
  for (const auto& g : lr.groups) {
    mi += fmt::format("{}{} {:.3f} ({}control {:.3f})", mi.empty() ? "" : ", ", g.kind, g.mi,
                      mi.empty() ? "shuffled-label " : "", g.mi_control);
  }
  if (!mi.empty()) {
    out += "specialisation (normalised MI of the chosen set): " + mi + "\n";
  }
  // Against the permutation nulls (docs/algorithm.md §4.3), where they were computed.
  for (const auto& g : lr.groups) {
    if (g.mi_null.permutations == 0) {
      continue;
    }
    const bool units = g.null_design == kNullUnitsShuffled;
    out += fmt::format("  {} MI {:.3f}: null {:.3f} +- {:.3f}, p = {:.3g}", g.kind, g.mi, g.mi_null.null_mean,
                       g.mi_null.null_sd, g.mi_null.p_value);
    for (const auto& c : g.given) {
      out += fmt::format("; given the {} {:.3f}: null {:.3f} +- {:.3f}, p = {:.3g}", given_words(c.given),
                         c.mi.observed, c.mi.null_mean, c.mi.null_sd, c.mi.p_value);
    }
    out += fmt::format(" ({} permutations of the {})\n", g.mi_null.permutations,
                       units ? "(image, level) units' experts" : "labels");
  }
  out += fmt::format("routing entropy: per sample {:.3f} nats, of the mean routing {:.3f} nats\n", lr.sample_entropy,
                     lr.mean_entropy);
  for (const auto& g : lr.groups) {
    if (g.kind == kClassGroup) {
      std::vector<std::string> class_acc;
      for (std::size_t c = 0; c < s.class_samples.size(); ++c) {
        class_acc.push_back(s.class_samples[c]
                                ? pct(static_cast<double>(s.class_correct[c]) / static_cast<double>(s.class_samples[c]))
                                : "-");
      }
      out += "\nclass x expert (mean gate weight; rows sum to 1):\n";
      out += class_acc.empty() ? matrix_table(g.group_expert, view.class_names, {}, {})  // detection: no accuracy
                               : matrix_table(g.group_expert, view.class_names, {"accuracy"}, class_acc);
    } else {
      out += fmt::format("\n{} x expert (mean gate weight):\n", g.kind);
      out += matrix_table(g.group_expert, group_names(view, g), {}, {});
    }
  }
  const std::size_t e = lr.importance_share.size();
  if (lr.coactivation.size() == e * e && view.trained_k > 1) {
    out += "\npair co-activation (samples whose chosen experts include both):\n";
    std::vector<std::string> header{""};
    for (std::size_t j = 1; j < e; ++j) {
      header.push_back(fmt::format("e{}", j));
    }
    core::TextTable pairs(header);
    for (std::size_t i = 0; i + 1 < e; ++i) {
      std::vector<std::string> cells{fmt::format("e{}", i)};
      for (std::size_t j = 1; j < e; ++j) {
        cells.push_back(j > i ? std::to_string(lr.coactivation[i * e + j]) : "");
      }
      pairs.add_row(cells);
    }
    out += pairs.render();
  }
  return out;
}

std::string layer_json(const LayerRouting& lr, const EvaluationView& view) {
  auto rows = [](const std::vector<std::vector<double>>& m) {
    std::string out = "[";
    for (std::size_t i = 0; i < m.size(); ++i) {
      out += (i ? ", " : "") + core::json_array(m[i]);
    }
    return out + "]";
  };
  // Per group kind: "<kind>_mi", "<kind>_mi_control", the "<kind>_expert" matrix ("class_mi", ...) and its row
  // names "<kind>_names" ("level_names": ["P3", ...]; numbers as text for kinds without names).
  std::string mi, matrices;
  for (const auto& g : lr.groups) {
    mi += fmt::format("{}: {}, {}: {}, ", core::json_string(g.kind + "_mi"), core::json_number(g.mi),
                      core::json_string(g.kind + "_mi_control"), core::json_number(g.mi_control));
    if (g.mi_null.permutations > 0) {
      mi += fmt::format("{}: {}, {}: {}, ", core::json_string(g.kind + "_mi_null"), null_comparison_json(g.mi_null),
                        core::json_string(g.kind + "_null_design"), core::json_string(g.null_design));
    }
    for (const auto& c : g.given) {
      mi +=
          fmt::format("{}: {}, ", core::json_string(g.kind + "_given_" + c.given + "_mi"), null_comparison_json(c.mi));
    }
    auto names = group_names(view, g);
    for (std::size_t i = names.size(); i < g.group_expert.size(); ++i) {
      names.push_back(std::to_string(i));
    }
    names.resize(g.group_expert.size());
    std::vector<std::string> quoted;
    for (const auto& name : names) {
      quoted.push_back(core::json_string(name));
    }
    matrices += fmt::format("{}: {}, {}: [{}], ", core::json_string(g.kind + "_expert"), rows(g.group_expert),
                            core::json_string(g.kind + "_names"), fmt::join(quoted, ", "));
  }
  return fmt::format(
      "{{\"layer\": {}, \"position\": {}, \"samples\": {}, \"importance_share\": {}, \"sample_share\": {}, "
      "\"importance_cv\": {}, \"sample_cv\": {}, \"living_experts\": {}, \"max_share\": {}, \"collapsed\": {}, "
      "{}\"sample_entropy\": {}, \"mean_entropy\": {}, {}\"coactivation\": {}}}",
      lr.layer, lr.position, lr.samples, core::json_array(lr.importance_share), core::json_array(lr.sample_share),
      core::json_number(lr.importance_cv), core::json_number(lr.sample_cv), lr.living_experts,
      core::json_number(lr.max_share), lr.collapsed ? "true" : "false", mi, core::json_number(lr.sample_entropy),
      core::json_number(lr.mean_entropy), matrices, core::json_array(lr.coactivation));
}

}  // namespace

std::vector<std::pair<std::size_t, double>> top_classes(const LayerRouting& layer, std::size_t expert,
                                                        std::size_t top) {
  std::vector<std::pair<std::size_t, double>> ranked;
  const GroupRouting* classes = layer.group(kClassGroup);
  for (std::size_t c = 0; classes != nullptr && c < classes->group_expert.size(); ++c) {
    if (expert < classes->group_expert[c].size()) {
      ranked.emplace_back(c, classes->group_expert[c][expert]);
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  ranked.resize(std::min(top, ranked.size()));
  return ranked;
}

std::string render_evaluation_text(const EvaluationView& view) {
  std::string out = fmt::format("run {} '{}', checkpoint after epoch {}, {} split ({} samples)\n\n", view.run_id,
                                view.run_name, view.checkpoint_epoch, view.split, view.samples);
  // One column per metric of the settings: accuracy, top-5 accuracy and loss first, then any other by name.
  std::vector<std::string> names;
  for (const auto& known : evaluation_figures()) {
    if (std::any_of(view.settings.begin(), view.settings.end(),
                    [&](const auto& s) { return s.metrics.count(known.name); })) {
      names.push_back(known.name);
    }
  }
  for (const auto& s : view.settings) {
    for (const auto& [name, value] : s.metrics) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  std::vector<std::string> head{"setting"};
  for (const auto& name : names) {
    head.push_back(evaluation_figure_spec(name).title);
  }
  head.emplace_back("evaluation");
  core::TextTable settings(head);
  for (const auto& s : view.settings) {
    std::vector<std::string> cells{s.setting};
    for (const auto& name : names) {
      auto it = s.metrics.find(name);
      const auto spec = evaluation_figure_spec(name);
      cells.push_back(it == s.metrics.end() ? "-"
                      : spec.scale == 100   ? pct(it->second)
                                            : fmt::format("{:.{}f}", it->second, spec.decimals));
    }
    cells.push_back(fmt::format("#{}", s.evaluation_id));
    settings.add_row(cells);
  }
  out += settings.render();
  if (!view.settings.empty()) {
    const auto& trained = view.settings.front();
    if (trained.routing.empty()) {
      out += "\n(dense model: no MoE layers, so no routing statistics)\n";
    }
    for (const auto& lr : trained.routing) {
      out += layer_text(lr, view, trained);
    }
  }
  return out;
}

std::string render_evaluation_json(const EvaluationView& view) {
  auto strings = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      out += (i ? ", " : "") + core::json_string(v[i]);
    }
    return out + "]";
  };
  std::string settings = "[";
  for (std::size_t i = 0; i < view.settings.size(); ++i) {
    const auto& s = view.settings[i];
    std::string layers = "[";
    for (std::size_t l = 0; l < s.routing.size(); ++l) {
      layers += (l ? ", " : "") + layer_json(s.routing[l], view);
    }
    layers += "]";
    auto metric = [&](const char* name) {
      auto it = s.metrics.find(name);
      return it == s.metrics.end() ? std::string("null") : core::json_number(it->second);
    };
    std::vector<std::string> named;
    for (const auto& [name, value] : s.metrics) {
      named.push_back(fmt::format("{}: {}", core::json_string(name), core::json_number(value)));
    }
    settings += fmt::format(
        "{}{{\"evaluation_id\": {}, \"setting\": {}, \"accuracy\": {}, \"loss\": {}, "
        "\"metrics\": {{{}}}, \"class_samples\": {}, \"class_correct\": {}, \"layers\": {}}}",
        i ? ", " : "", s.evaluation_id, core::json_string(s.setting), metric("acc"), metric("loss"),
        fmt::join(named, ", "), core::json_array(s.class_samples), core::json_array(s.class_correct), layers);
  }
  settings += "]";
  return fmt::format(
      "{{\"run_id\": {}, \"name\": {}, \"checkpoint_epoch\": {}, \"split\": {}, \"samples\": {}, "
      "\"trained_k\": {}, \"class_names\": {}, \"superclass_names\": {}, \"settings\": {}}}\n",
      view.run_id, core::json_string(view.run_name), view.checkpoint_epoch, core::json_string(view.split), view.samples,
      view.trained_k, strings(view.class_names), strings(view.superclass_names), settings);
}

}  // namespace moexp::report
