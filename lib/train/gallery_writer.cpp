#include "train/gallery_writer.hpp"

#include "core/atomic_file.hpp"
#include "core/png_encode.hpp"
#include "report/gallery.hpp"
#include "report/gallery_manifest.hpp"

#include <fmt/format.h>

#include <map>

namespace moexp::train {
namespace {

// Sample `i` of `images_nchw` (uint8) as the PNG of its pixels: grey for 1 channel, RGB for 3.
std::string thumbnail(const torch::Tensor& images_nchw, std::int64_t i) {
  auto hwc = images_nchw[i].permute({1, 2, 0}).contiguous();
  const auto* p = hwc.data_ptr<std::uint8_t>();
  std::vector<std::uint8_t> pixels(p, p + hwc.numel());
  return core::encode_png(pixels, static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)),
                          static_cast<int>(hwc.size(2)));
}

}  // namespace

std::filesystem::path write_gallery(const GalleryOptions& options, const EvalResult& result,
                                    const data::Dataset& split_data, const data::DataSplits& data) {
  const auto labels_t = split_data.labels_n.contiguous();
  const auto coarse_t = split_data.coarse_n.contiguous();
  const std::vector<std::int64_t> labels(labels_t.data_ptr<std::int64_t>(),
                                         labels_t.data_ptr<std::int64_t>() + labels_t.numel());
  const auto label_of = [&](std::int64_t i) {
    const auto c = static_cast<std::size_t>(labels[static_cast<std::size_t>(i)]);
    std::string text = c < data.class_names.size() ? data.class_names[c] : std::to_string(c);
    const auto s = static_cast<std::size_t>(coarse_t[i].item<std::int64_t>());
    if (!data.superclass_names.empty() && s < data.superclass_names.size()) {
      text += " (" + data.superclass_names[s] + ")";
    }
    return text;
  };
  report::GalleryPage page;
  page.title = options.title;
  page.how_chosen = fmt::format(
      "Per expert: the {} images of the {} split ({} images) with the largest gate weight for that expert (ties: the "
      "lower index), under the trained routing with clean logits; the control row shows {} images drawn at random "
      "from the same split (seed {}), the same images for every expert, with that expert's weight for each.",
      options.per_expert, options.split, split_data.size(), options.per_expert, options.seed);
  page.class_names = data.class_names;
  std::map<std::int64_t, std::string> png_of;       // per sample: its thumbnail, encoded once
  std::map<std::string, const std::string*> files;  // file name -> PNG bytes (a control image is every expert's)
  for (std::size_t l = 0; l < result.per_sample.size(); ++l) {
    const auto w = result.per_sample[l].weights_ne.to(torch::kFloat).contiguous();
    const auto experts = w.size(1);
    const std::vector<float> weights(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    const auto choice = report::choose_gallery(weights, experts, options.per_expert, options.seed);
    const auto histograms =
        report::top_class_histograms(choice, labels, static_cast<std::int64_t>(data.class_names.size()));
    report::GalleryLayer layer;
    layer.layer = static_cast<int>(l);
    layer.position = l < result.routing.size() ? result.routing[l].position : 0;
    const auto image = [&](std::int64_t i, std::int64_t e, const std::string& file) {
      auto [png, added] = png_of.try_emplace(i);
      if (added) {
        png->second = thumbnail(split_data.images_nchw, i);
      }
      if (!options.inline_images) {
        files.emplace(file, &png->second);
      }
      return report::GalleryImage{.sample = i,
                                  .png = png->second,
                                  .file = file,
                                  .label = label_of(i),
                                  .weight = weights[static_cast<std::size_t>(i * experts + e)]};
    };
    for (std::int64_t e = 0; e < experts; ++e) {
      report::GalleryExpert expert;
      const auto& top = choice.top[static_cast<std::size_t>(e)];
      for (std::size_t r = 0; r < top.size(); ++r) {
        expert.top.push_back(image(top[r], e, fmt::format("layer{}_expert{}_top{:02d}.png", l, e, r)));
      }
      for (auto i : choice.control) {
        expert.control.push_back(image(i, e, fmt::format("sample{:06d}.png", i)));
      }
      expert.histogram = histograms[static_cast<std::size_t>(e)];
      layer.experts.push_back(std::move(expert));
    }
    page.layers.push_back(std::move(layer));
  }
  for (const auto& [name, png] : files) {
    core::write_file_atomic(options.dir / name, *png);
  }
  core::write_file_atomic(options.dir / report::kGalleryManifest, report::gallery_manifest_json(page));
  const auto index = options.dir / "index.html";
  core::write_file_atomic(index, report::gallery_html(page, options.inline_images));
  return index;
}

}  // namespace moexp::train
