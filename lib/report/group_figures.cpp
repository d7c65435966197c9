#include "report/group_figures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

namespace moexp::report {
namespace {

bool same_kinds(const LayerRouting& a, const LayerRouting& b) {
  if (a.importance_share.size() != b.importance_share.size() || a.groups.size() != b.groups.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.groups.size(); ++i) {
    if (a.groups[i].kind != b.groups[i].kind || a.groups[i].group_expert.size() != b.groups[i].group_expert.size()) {
      return false;
    }
  }
  return true;
}

Matrix coactivation_matrix(const LayerRouting& r) {
  const std::size_t e = r.importance_share.size();
  Matrix pairs(e, std::vector<double>(e, 0.0));
  if (r.coactivation.size() != e * e) {
    return pairs;
  }
  for (std::size_t i = 0; i < e; ++i) {
    for (std::size_t j = i + 1; j < e; ++j) {
      pairs[i][j] = pairs[j][i] = static_cast<double>(r.coactivation[i * e + j]);
    }
  }
  return pairs;
}

// Rows and columns of a square expert x expert matrix reordered by `expert_of`.
Matrix permute_square(const Matrix& m, const std::vector<std::size_t>& expert_of) {
  Matrix out = m;
  for (std::size_t i = 0; i < m.size() && i < expert_of.size(); ++i) {
    out[i] = permute(m[expert_of[i]], expert_of);
  }
  return out;
}

// Numbers as numbers ("2" < "10"), words as words.
bool seed_less(const std::string& a, const std::string& b) {
  return group_less({a}, {b});
}

}  // namespace

std::string alignment_kind_of(const LayerRouting& routing) {
  if (routing.group(kClassGroup) != nullptr) {
    return kClassGroup;
  }
  return routing.groups.empty() ? "" : routing.groups.front().kind;
}

GroupFigures combine_seeds(const std::vector<SeedFigures>& all, bool align) {
  GroupFigures g;
  if (all.empty()) {
    return g;
  }
  const auto& reference = all.front().routing;
  std::vector<const SeedFigures*> seeds;
  for (const auto& s : all) {
    if (same_kinds(reference, s.routing)) {
      seeds.push_back(&s);
      g.run_ids.push_back(s.run_id);
      g.seeds.push_back(s.seed);
    } else {
      ++g.skipped;
    }
  }
  g.alignment_kind = seeds.size() > 1 ? alignment_kind_of(reference) : "";
  std::vector<Matrix> by_kind;
  for (const auto* s : seeds) {
    const auto* kind = g.alignment_kind.empty() ? nullptr : s->routing.group(g.alignment_kind);
    // Without groups, experts are told apart by nothing but their share: align on the importance row.
    by_kind.push_back(kind != nullptr ? kind->group_expert : Matrix{s->routing.importance_share});
  }
  g.alignment = align_experts(by_kind, align && seeds.size() > 1);
  if (g.alignment.aligned) {
    g.alignment_null = alignment_null(by_kind);
  }
  for (std::size_t k = 0; k < reference.groups.size(); ++k) {
    KindFigures f;
    f.kind = reference.groups[k].kind;
    std::vector<Matrix> matrices;
    std::vector<double> mi, control, null_mean, p;
    // Per conditional figure of the reference: the seeds' observed values, null means and p-values.
    std::vector<std::array<std::vector<double>, 3>> given_values(reference.groups[k].given.size());
    for (std::size_t s = 0; s < seeds.size(); ++s) {
      const auto& group = seeds[s]->routing.groups[k];
      matrices.push_back(permute_columns(group.group_expert, g.alignment.expert_of[s]));
      mi.push_back(group.mi);
      control.push_back(group.mi_control);
      if (group.mi_null.permutations > 0) {
        null_mean.push_back(group.mi_null.null_mean);
        p.push_back(group.mi_null.p_value);
      }
      for (std::size_t c = 0; c < given_values.size(); ++c) {
        const auto* figure = group.given_figure(reference.groups[k].given[c].given);
        if (figure != nullptr && figure->mi.permutations > 0) {
          given_values[c][0].push_back(figure->mi.observed);
          given_values[c][1].push_back(figure->mi.null_mean);
          given_values[c][2].push_back(figure->mi.p_value);
        }
      }
    }
    f.matrix = matrix_stat(matrices);
    f.mi = aggregate(mi);
    f.mi_control = aggregate(control);
    f.mi_null = aggregate(null_mean);
    f.mi_p = aggregate(p);
    for (std::size_t c = 0; c < given_values.size(); ++c) {
      if (!given_values[c][0].empty()) {
        f.given.push_back({reference.groups[k].given[c].given, aggregate(given_values[c][0]),
                           aggregate(given_values[c][1]), aggregate(given_values[c][2])});
      }
    }
    g.kinds.push_back(std::move(f));
  }
  std::vector<Matrix> pairs, importance;
  std::size_t epochs = seeds.front()->importance_by_epoch.size();
  for (const auto* s : seeds) {
    epochs = std::min(epochs, s->importance_by_epoch.size());
  }
  for (std::size_t s = 0; s < seeds.size(); ++s) {
    const auto& expert_of = g.alignment.expert_of[s];
    pairs.push_back(permute_square(coactivation_matrix(seeds[s]->routing), expert_of));
    Matrix lines(seeds[s]->importance_by_epoch.begin(),
                 seeds[s]->importance_by_epoch.begin() + static_cast<std::ptrdiff_t>(epochs));
    importance.push_back(permute_columns(lines, expert_of));
  }
  g.coactivation = matrix_stat(pairs);
  g.importance_by_epoch = matrix_stat(importance);
  return g;
}

std::vector<GroupFigures> group_figures(store::ResultStore& db, const std::vector<store::RunSummary>& runs,
                                        const std::vector<std::string>& by, bool align) {
  std::map<std::vector<std::string>, std::vector<const store::RunSummary*>> groups;
  for (const auto& r : runs) {
    if (r.status == RunStatus::finished && display_value(r, "constraint.kind") != "dense") {
      groups[group_key(r, by)].push_back(&r);
    }
  }
  std::vector<std::vector<std::string>> order;
  for (const auto& [key, members] : groups)
    order.push_back(key);
  std::sort(order.begin(), order.end(), group_less);
  std::vector<GroupFigures> out;
  for (const auto& key : order) {
    auto members = groups[key];
    std::stable_sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
      return seed_less(display_value(*a, "train.seed"), display_value(*b, "train.seed"));
    });
    std::vector<SeedFigures> seeds;
    std::vector<std::string> class_names, superclass_names;
    for (const auto* run : members) {
      std::optional<store::SnapshotRow> last;
      for (const auto& snap : db.routing().snapshots(run->id)) {
        if (snap.epoch && snap.split == "test" && (!last || *snap.epoch > *last->epoch)) {
          last = snap;
        }
      }
      if (!last)
        continue;
      auto layers = db.routing().snapshot(last->id);
      if (layers.empty() || layers.front().importance_share.empty())
        continue;
      SeedFigures s;
      s.run_id = run->id;
      s.seed = display_value(*run, "train.seed");
      s.routing = std::move(layers.front());
      for (const auto& row : db.routing().expert_stats(run->id)) {
        if (row.split != "test" || row.layer != 0)
          continue;
        const auto epoch = static_cast<std::size_t>(row.epoch);
        if (s.importance_by_epoch.size() < epoch)
          s.importance_by_epoch.resize(epoch);
        s.importance_by_epoch[epoch - 1].push_back(row.importance_share);
      }
      if (seeds.empty()) {
        for (const auto& c : db.runs().classes(run->id)) {
          class_names.push_back(c.name);
          if (std::find(superclass_names.begin(), superclass_names.end(), c.superclass_name) ==
              superclass_names.end()) {
            superclass_names.push_back(c.superclass_name);
          }
        }
      }
      seeds.push_back(std::move(s));
    }
    if (seeds.empty())
      continue;
    auto g = combine_seeds(seeds, align);
    g.key_values = key;
    g.class_names = std::move(class_names);
    g.superclass_names = std::move(superclass_names);
    std::vector<std::string> ids;
    for (auto id : g.run_ids)
      ids.push_back(std::to_string(id));
    g.caption = fmt::format("{}: {} {} (run{} {}), final test epoch", group_caption(by, key), g.seeds.size(),
                            g.seeds.size() == 1 ? "seed" : "seeds", ids.size() == 1 ? "" : "s", fmt::join(ids, ", "));
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace moexp::report
