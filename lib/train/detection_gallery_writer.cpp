#include "train/detection_gallery_writer.hpp"

#include "coco/image_decode.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/png_encode.hpp"
#include "report/gallery_manifest.hpp"

#include <fmt/format.h>

#include <map>
#include <stdexcept>

namespace moexp::train {
namespace {

std::array<double, 4> scaled(const std::array<double, 4>& box, int factor) {
  const double f = factor;
  return {box[0] / f, box[1] / f, box[2] / f, box[3] / f};
}

std::string describe_choice(const DetectionGalleryOptions& options, std::size_t shown, std::size_t split_images) {
  const auto which = options.image_ids.empty() ? fmt::format("{} of the {} validation images drawn at random (seed {})",
                                                             shown, split_images, options.seed)
                                               : fmt::format("the {} validation images asked for (--images)", shown);
  return fmt::format(
      "Shown: {}. Each ground-truth object is drawn in the colour of the expert with the largest gate weight on the "
      "(image, level) token of the level where the object has the most positive anchors (the tokens the size "
      "statistics use; grey: no positive anchors); each detection scoring at least {} in the colour of its anchor's "
      "level's top expert. The histograms count every (object, level) token with positive anchors of the whole split "
      "for its top expert. Images larger than {} px are reduced by an integer factor.",
      which, report::kGalleryScoreThreshold, kGalleryMaxSide);
}

}  // namespace

std::filesystem::path write_detection_gallery(const DetectionGalleryOptions& options,
                                              const report::DetectionRoutingRecord& record, const DetectionData& data) {
  std::vector<std::int64_t> chosen;
  try {
    chosen = report::choose_detection_images(record, options.images, options.seed, options.image_ids);
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("evaluate: --images: {}", e.what()));
  }
  std::map<std::int64_t, const coco::Image*> image_of;
  for (const auto& im : data.val.images) {
    image_of.emplace(im.id, &im);
  }
  report::DetectionGalleryPage page;
  page.title = options.title;
  page.how_chosen = describe_choice(options, chosen.size(), record.images.size());
  page.experts = record.experts;
  page.levels = record.levels;
  const auto histograms = report::expert_object_histograms(record);
  std::map<std::int64_t, const report::RoutedImage*> routed;
  for (const auto& im : record.images) {
    routed.emplace(im.image_id, &im);
  }
  std::map<std::string, std::string> files;
  for (std::size_t h = 0; h < record.heads.size(); ++h) {
    report::DetectionGalleryHead head{.name = record.heads[h], .images = {}, .experts = histograms[h]};
    for (auto id : chosen) {
      const auto& info = *image_of.at(id);
      const auto decoded = coco::decode_image(data.val_images / info.file_name);
      const int factor = (std::max(decoded.width, decoded.height) + kGalleryMaxSide - 1) / kGalleryMaxSide;
      auto picture = report::shrink_image({decoded.width, decoded.height, decoded.rgb}, factor);
      const auto& weights_le = routed.at(id)->weights_hle.at(h);
      std::int64_t objects = 0, detections = 0;
      for (const auto& d : record.detections) {
        if (d.image_id == id && d.score >= report::kGalleryScoreThreshold) {
          const auto e = report::top_expert(weights_le.at(static_cast<std::size_t>(d.level)));
          report::draw_box(picture, scaled(d.box_xywh, factor), report::expert_colour(e), 1, true);
          ++detections;
        }
      }
      for (const auto& o : record.objects) {  // ground truth on top of the detections
        if (o.image_id == id) {
          const auto level = report::object_level(o);
          const auto e = level < 0 ? -1 : report::top_expert(weights_le.at(static_cast<std::size_t>(level)));
          report::draw_box(picture, scaled(o.box_xywh, factor), report::expert_colour(e), 2, false);
          ++objects;
        }
      }
      report::DetectionGalleryImage image;
      image.image_id = id;
      image.png = core::encode_png(picture.rgb, picture.width, picture.height, 3);
      image.file = fmt::format("{}_image{}.png", record.heads[h], id);
      image.caption = fmt::format("image {} ({}): {} objects, {} detections", id, info.file_name, objects, detections);
      if (!options.inline_images) {
        files.emplace(image.file, image.png);
      }
      head.images.push_back(std::move(image));
    }
    page.heads.push_back(std::move(head));
  }
  for (const auto& [name, png] : files) {
    core::write_file_atomic(options.dir / name, png);
  }
  core::write_file_atomic(options.dir / report::kGalleryManifest, report::detection_gallery_manifest_json(page));
  const auto index = options.dir / "index.html";
  core::write_file_atomic(index, report::detection_gallery_html(page, options.inline_images));
  return index;
}

std::filesystem::path objects_csv_path(const std::filesystem::path& path) {
  auto out = path;
  out.replace_filename(path.stem().string() + ".objects" + path.extension().string());
  return out;
}

void write_detection_routing_csvs(const std::filesystem::path& path, const report::DetectionRoutingRecord& record,
                                  const std::vector<std::string>& class_names) {
  const auto csvs = report::detection_routing_csvs(record, class_names);
  core::write_file_atomic(path, csvs.image_levels);
  core::write_file_atomic(objects_csv_path(path), csvs.object_levels);
}

}  // namespace moexp::train
