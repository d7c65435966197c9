#include "report/gallery_manifest.hpp"

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/png_encode.hpp"

#include <fmt/format.h>
#include <simdjson.h>

namespace moexp::report {
namespace {

constexpr const char* kFormat = "moexp-gallery/1";
constexpr const char* kDetectionFormat = "moexp-detection-gallery/1";

std::string image_json(const GalleryImage& image, bool with_weight) {
  return fmt::format(
      "{{\"sample\": {}, \"label\": {}{}, \"png\": \"{}\"}}", image.sample, core::json_string(image.label),
      with_weight ? ", \"weight\": " + core::json_number(image.weight) : std::string(), core::base64(image.png));
}

ManifestImage read_image(simdjson::dom::element e) {
  ManifestImage image;
  image.sample = e["sample"].get_int64().value();
  image.label = std::string(e["label"].get_string().value());
  if (auto w = e["weight"]; w.error() == simdjson::SUCCESS) {
    image.weight = w.get_double().value();
  }
  image.png_base64 = std::string(e["png"].get_string().value());
  return image;
}

std::vector<std::int64_t> read_counts(simdjson::dom::element e) {
  std::vector<std::int64_t> out;
  const simdjson::dom::array values = e.get_array().value();
  for (auto v : values) {
    out.push_back(v.get_int64().value());
  }
  return out;
}

// Head `layer` of a detection manifest.
SeedGallery read_detection(simdjson::dom::element doc, const std::filesystem::path& path, std::int64_t layer) {
  SeedGallery out;
  out.how_chosen = std::string(doc["how_chosen"].get_string().value());
  out.layer = layer;
  const simdjson::dom::array heads = doc["heads"].get_array().value();
  std::int64_t index = 0;
  for (auto head : heads) {
    if (index++ != layer) {
      continue;
    }
    out.head = std::string(head["name"].get_string().value());
    const simdjson::dom::array experts = head["experts"].get_array().value();
    for (auto e : experts) {
      ExpertObjects counts;
      counts.tokens = e["tokens"].get_int64().value();
      const auto sizes = read_counts(e["sizes"].value());
      if (sizes.size() != counts.sizes.size()) {
        throw DataError(fmt::format("{}: an expert's sizes need {} counts", path.string(), counts.sizes.size()));
      }
      std::copy(sizes.begin(), sizes.end(), counts.sizes.begin());
      counts.levels = read_counts(e["levels"].value());
      counts.log_sizes = read_counts(e["log_sizes"].value());
      out.objects_by_expert.push_back(std::move(counts));
    }
    return out;
  }
  throw DataError(fmt::format("{}: no MoE head {}", path.string(), layer));
}

}  // namespace

std::string detection_gallery_manifest_json(const DetectionGalleryPage& page) {
  std::string out = fmt::format("{{\"format\": \"{}\", \"title\": {}, \"how_chosen\": {}, \"heads\": [",
                                kDetectionFormat, core::json_string(page.title), core::json_string(page.how_chosen));
  for (std::size_t h = 0; h < page.heads.size(); ++h) {
    const auto& head = page.heads[h];
    out += fmt::format("{}\n {{\"name\": {}, \"experts\": [", h ? "," : "", core::json_string(head.name));
    for (std::size_t e = 0; e < head.experts.size(); ++e) {
      const auto& c = head.experts[e];
      out += fmt::format("{}\n  {{\"tokens\": {}, \"sizes\": {}, \"levels\": {}, \"log_sizes\": {}}}", e ? "," : "",
                         c.tokens, core::json_array(std::vector<std::int64_t>(c.sizes.begin(), c.sizes.end())),
                         core::json_array(c.levels), core::json_array(c.log_sizes));
    }
    out += "]}";
  }
  return out + "]}\n";
}

std::string gallery_manifest_json(const GalleryPage& page) {
  std::string out = fmt::format("{{\"format\": \"{}\", \"title\": {}, \"how_chosen\": {}, \"layers\": [", kFormat,
                                core::json_string(page.title), core::json_string(page.how_chosen));
  for (std::size_t l = 0; l < page.layers.size(); ++l) {
    const auto& layer = page.layers[l];
    out += fmt::format("{}\n {{\"layer\": {}, \"position\": {}, \"experts\": [", l ? "," : "", layer.layer,
                       layer.position);
    for (std::size_t e = 0; e < layer.experts.size(); ++e) {
      out += e ? ",\n  [" : "\n  [";
      const auto& top = layer.experts[e].top;
      for (std::size_t i = 0; i < top.size(); ++i) {
        out += (i ? ", " : "") + image_json(top[i], true);
      }
      out += "]";
    }
    out += "],\n  \"control\": [";
    const auto& control = layer.experts.empty() ? std::vector<GalleryImage>{} : layer.experts.front().control;
    for (std::size_t i = 0; i < control.size(); ++i) {
      out += (i ? ", " : "") + image_json(control[i], false);
    }
    out += "]}";
  }
  return out + "]}\n";
}

SeedGallery read_gallery_manifest(const std::filesystem::path& path, std::int64_t layer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.load(path.string()).get(doc)) {
    throw DataError(fmt::format("{}: {}", path.string(), simdjson::error_message(error)));
  }
  try {
    const auto format = doc["format"].get_string().value();
    if (format == kDetectionFormat) {
      return read_detection(doc, path, layer);
    }
    if (format != kFormat) {
      throw DataError(fmt::format("{}: not a {} or {} manifest", path.string(), kFormat, kDetectionFormat));
    }
    SeedGallery out;
    out.how_chosen = std::string(doc["how_chosen"].get_string().value());
    out.layer = layer;
    const simdjson::dom::array layers = doc["layers"].get_array().value();
    for (auto l : layers) {
      if (l["layer"].get_int64().value() != layer) {
        continue;
      }
      const simdjson::dom::array experts = l["experts"].get_array().value();
      for (auto expert : experts) {
        auto& top = out.top_by_expert.emplace_back();
        const simdjson::dom::array images = expert.get_array().value();
        for (auto image : images) {
          top.push_back(read_image(image));
        }
      }
      const simdjson::dom::array control = l["control"].get_array().value();
      for (auto image : control) {
        out.control.push_back(read_image(image));
      }
      return out;
    }
    throw DataError(fmt::format("{}: no MoE layer {}", path.string(), layer));
  } catch (const simdjson::simdjson_error& e) {
    throw DataError(fmt::format("{}: {}", path.string(), e.what()));
  }
}

}  // namespace moexp::report
