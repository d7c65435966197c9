#include "report/gallery.hpp"

#include "core/png_encode.hpp"
#include "core/random.hpp"
#include "report/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace moexp::report {

GalleryChoice choose_gallery(const std::vector<float>& weights_ne, std::int64_t experts, std::int64_t per_expert,
                             std::uint64_t seed) {
  if (experts <= 0 || per_expert < 0 || weights_ne.size() % static_cast<std::size_t>(experts) != 0) {
    throw std::invalid_argument(fmt::format("choose_gallery: {} weights for {} experts, {} per expert",
                                            weights_ne.size(), experts, per_expert));
  }
  const auto samples = static_cast<std::int64_t>(weights_ne.size()) / experts;
  const auto n = static_cast<std::size_t>(std::min(per_expert, samples));
  GalleryChoice choice;
  std::vector<std::int64_t> order(static_cast<std::size_t>(samples));
  for (std::int64_t e = 0; e < experts; ++e) {
    std::iota(order.begin(), order.end(), 0);
    const auto weight = [&](std::int64_t i) { return weights_ne[static_cast<std::size_t>(i * experts + e)]; };
    std::partial_sort(
        order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
        [&](std::int64_t a, std::int64_t b) { return weight(a) > weight(b) || (weight(a) == weight(b) && a < b); });
    choice.top.emplace_back(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n));
  }
  choice.control = draw_without_replacement(samples, static_cast<std::int64_t>(n), seed);
  return choice;
}

std::vector<std::int64_t> draw_without_replacement(std::int64_t population, std::int64_t n, std::uint64_t seed) {
  // The first n draws of a Fisher-Yates shuffle: n distinct indices, uniformly.
  std::vector<std::int64_t> order(static_cast<std::size_t>(std::max<std::int64_t>(0, population)));
  std::iota(order.begin(), order.end(), 0);
  const auto draws = static_cast<std::size_t>(std::clamp<std::int64_t>(n, 0, population));
  core::Random random(seed);
  for (std::size_t k = 0; k < draws; ++k) {
    const auto j = k + static_cast<std::size_t>(random.below(static_cast<std::uint64_t>(order.size() - k)));
    std::swap(order[k], order[j]);
  }
  order.resize(draws);
  return order;
}

std::vector<std::vector<std::int64_t>> top_class_histograms(const GalleryChoice& choice,
                                                            const std::vector<std::int64_t>& labels,
                                                            std::int64_t classes) {
  std::vector<std::vector<std::int64_t>> out;
  for (const auto& top : choice.top) {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(classes), 0);
    for (auto i : top) {
      const auto label = labels.at(static_cast<std::size_t>(i));
      if (label >= 0 && label < classes) {
        ++counts[static_cast<std::size_t>(label)];
      }
    }
    out.push_back(std::move(counts));
  }
  return out;
}

namespace {

std::string image_cell(const GalleryImage& image, bool inline_images) {
  const auto src = inline_images ? "data:image/png;base64," + core::base64(image.png) : html_escape(image.file);
  return fmt::format("<figure><img src=\"{}\" alt=\"sample {}\"><figcaption>{}<br>w {:.3f}</figcaption></figure>", src,
                     image.sample, html_escape(image.label), image.weight);
}

std::string histogram_cell(const std::vector<std::int64_t>& histogram, const std::vector<std::string>& names) {
  std::vector<std::size_t> order(histogram.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return histogram[a] > histogram[b]; });
  std::string out = "<ul class=\"hist\">";
  for (auto c : order) {
    if (histogram[c] == 0) {
      break;
    }
    out += fmt::format("<li>{} × {}</li>", html_escape(c < names.size() ? names[c] : std::to_string(c)), histogram[c]);
  }
  return out + "</ul>";
}

}  // namespace

std::string gallery_html(const GalleryPage& page, bool inline_images) {
  std::string out = fmt::format(R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
figure {{ display: inline-block; margin: 2px; text-align: center; font-size: 10px; }}
figure img {{ width: 48px; height: 48px; image-rendering: pixelated; display: block; margin: auto; }}
td {{ vertical-align: top; border-top: 1px solid #ccc; padding: 4px; }}
ul.hist {{ margin: 0; padding-left: 1em; font-size: 12px; }}
.control figure {{ opacity: 0.85; }}
</style></head><body>
<h1>{0}</h1>
<p class="how">{1}</p>
)",
                                html_escape(page.title), html_escape(page.how_chosen));
  for (const auto& layer : page.layers) {
    out += fmt::format("<h2>MoE layer {} (position {})</h2>\n<table>\n", layer.layer, layer.position);
    out +=
        "<tr><th>expert</th><th>top images (largest gate weight)</th><th>classes of the top images</th>"
        "<th>control (random images of the split)</th></tr>\n";
    for (std::size_t e = 0; e < layer.experts.size(); ++e) {
      const auto& expert = layer.experts[e];
      std::string top, control;
      for (const auto& image : expert.top) {
        top += image_cell(image, inline_images);
      }
      for (const auto& image : expert.control) {
        control += image_cell(image, inline_images);
      }
      out += fmt::format("<tr><td>e{}</td><td>{}</td><td>{}</td><td class=\"control\">{}</td></tr>\n", e, top,
                         histogram_cell(expert.histogram, page.class_names), control);
    }
    out += "</table>\n";
  }
  return out + "</body></html>\n";
}

}  // namespace moexp::report
