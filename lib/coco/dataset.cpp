// COCO annotation and results files, read with simdjson's on-demand API (exceptions mode): each field is read once,
// in file order, and everything not named here (segmentation, licenses, info, ...) is skipped without being built.
#include "coco/dataset.hpp"

#include "core/error.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace moexp::coco {
namespace {

namespace od = simdjson::ondemand;

simdjson::padded_string read_file(const std::filesystem::path& path) {
  simdjson::padded_string json;
  if (auto error = simdjson::padded_string::load(path.string()).get(json)) {
    std::error_code ec;
    const char* why = !std::filesystem::exists(path, ec) ? "no such file" : simdjson::error_message(error);
    throw InputError(fmt::format("{}: cannot read: {}", path.string(), why));
  }
  return json;
}

// " (line N)" of the parser's position in `json`, or "" when it is not known (`started`: iterate() succeeded, so
// `doc` has a position to ask for).
std::string where(bool started, od::document& doc, const simdjson::padded_string& json) {
  const char* at = nullptr;
  if (!started || doc.current_location().get(at) != simdjson::SUCCESS || at < json.data() ||
      at > json.data() + json.size()) {
    return "";
  }
  return fmt::format(" (line {})", 1 + std::count(json.data(), at, '\n'));
}

double finite(double v, const std::string& what) {
  if (!std::isfinite(v)) {
    throw InputError(what + " is not a finite number");
  }
  return v;
}

Box read_box(od::value v, const std::string& what) {
  double xywh[4];
  int n = 0;
  for (double x : v.get_array()) {
    if (n < 4) {
      xywh[n] = finite(x, what);
    }
    ++n;
  }
  if (n != 4) {
    throw InputError(fmt::format("{}: bbox has {} numbers, not 4 [x, y, w, h]", what, n));
  }
  return {xywh[0], xywh[1], xywh[2], xywh[3]};
}

bool read_flag(od::value v) {
  if (v.type() == od::json_type::boolean) {
    return v.get_bool();
  }
  return v.get_int64() != 0;
}

void require(bool present, const std::string& what, std::string_view key) {
  if (!present) {
    throw InputError(fmt::format("{} has no '{}'", what, key));
  }
}

Image read_image(od::object obj, std::size_t index) {
  Image im;
  bool id = false, file = false, width = false, height = false;
  for (auto field : obj) {
    const std::string_view key = field.unescaped_key();
    if (key == "id") {
      im.id = field.value().get_int64();
      id = true;
    } else if (key == "file_name") {
      im.file_name = std::string(std::string_view(field.value().get_string()));
      file = true;
    } else if (key == "width") {
      im.width = field.value().get_int64();
      width = true;
    } else if (key == "height") {
      im.height = field.value().get_int64();
      height = true;
    }
  }
  const std::string what = fmt::format("images[{}]", index);
  require(id, what, "id");
  require(file, what, "file_name");
  require(width, what, "width");
  require(height, what, "height");
  return im;
}

Annotation read_annotation(od::object obj, std::size_t index) {
  Annotation a;
  bool id = false, image = false, category = false, bbox = false, area = false;
  for (auto field : obj) {
    const std::string_view key = field.unescaped_key();
    if (key == "id") {
      a.id = field.value().get_int64();
      id = true;
    } else if (key == "image_id") {
      a.image_id = field.value().get_int64();
      image = true;
    } else if (key == "category_id") {
      a.category_id = field.value().get_int64();
      category = true;
    } else if (key == "bbox") {
      a.bbox = read_box(field.value(), fmt::format("annotations[{}]", index));
      bbox = true;
    } else if (key == "area") {
      a.area = field.value().get_double();
      area = true;
    } else if (key == "iscrowd") {
      a.iscrowd = read_flag(field.value());
    }
  }
  const std::string what = id ? fmt::format("annotation {}", a.id) : fmt::format("annotations[{}]", index);
  require(id, what, "id");
  require(image, what, "image_id");
  require(category, what, "category_id");
  require(bbox, what, "bbox");
  if (!area) {
    a.area = a.bbox.w * a.bbox.h;
  }
  return a;
}

Category read_category(od::object obj, std::size_t index) {
  Category c;
  bool id = false, name = false;
  for (auto field : obj) {
    const std::string_view key = field.unescaped_key();
    if (key == "id") {
      c.id = field.value().get_int64();
      id = true;
    } else if (key == "name") {
      c.name = std::string(std::string_view(field.value().get_string()));
      name = true;
    }
  }
  const std::string what = fmt::format("categories[{}]", index);
  require(id, what, "id");
  require(name, what, "name");
  return c;
}

// The semantic checks of a loaded annotation file (ids unique, references resolved, boxes inside their images).
void check_dataset(const Dataset& d) {
  std::unordered_map<std::int64_t, const Image*> images;
  for (const auto& im : d.images) {
    if (!images.emplace(im.id, &im).second) {
      throw InputError(fmt::format("image id {} appears twice", im.id));
    }
    if (im.width <= 0 || im.height <= 0) {
      throw InputError(
          fmt::format("image {} ({}): size {}x{} is not positive", im.id, im.file_name, im.width, im.height));
    }
  }
  std::unordered_set<std::int64_t> categories;
  for (const auto& c : d.categories) {
    if (!categories.insert(c.id).second) {
      throw InputError(fmt::format("category id {} appears twice", c.id));
    }
  }
  std::unordered_set<std::int64_t> ids;
  for (const auto& a : d.annotations) {
    if (!ids.insert(a.id).second) {
      throw InputError(fmt::format("annotation id {} appears twice", a.id));
    }
    const auto im = images.find(a.image_id);
    if (im == images.end()) {
      throw InputError(fmt::format("annotation {}: image {} is not in the file", a.id, a.image_id));
    }
    if (!categories.count(a.category_id)) {
      throw InputError(fmt::format("annotation {}: category {} is not in the file", a.id, a.category_id));
    }
    const Box& b = a.bbox;
    if (b.w < 0 || b.h < 0) {
      throw InputError(
          fmt::format("annotation {}: bbox [{}, {}, {}, {}] has a negative size", a.id, b.x, b.y, b.w, b.h));
    }
    const auto& image = *im->second;
    if (b.x < -kBoxSlackPx || b.y < -kBoxSlackPx || b.x + b.w > static_cast<double>(image.width) + kBoxSlackPx ||
        b.y + b.h > static_cast<double>(image.height) + kBoxSlackPx) {
      throw InputError(fmt::format("annotation {}: bbox [{}, {}, {}, {}] is outside image {} ({}x{})", a.id, b.x, b.y,
                                   b.w, b.h, image.id, image.width, image.height));
    }
    if (!std::isfinite(a.area) || a.area < 0) {
      throw InputError(fmt::format("annotation {}: area {} is not a non-negative number", a.id, a.area));
    }
  }
}

Dataset dataset_from_json(const simdjson::padded_string& json, const std::string& name);
std::vector<Detection> detections_from_json(const simdjson::padded_string& json, const std::string& name,
                                            const Dataset& gt);

}  // namespace

Dataset load_dataset(const std::filesystem::path& path) {
  return dataset_from_json(read_file(path), path.string());
}

Dataset parse_dataset(std::string_view text, const std::string& name) {
  return dataset_from_json(simdjson::padded_string(text), name);
}

namespace {

Dataset dataset_from_json(const simdjson::padded_string& json, const std::string& name) {
  od::parser parser;
  od::document doc;
  bool started = false;
  Dataset d;
  try {
    doc = parser.iterate(json);
    started = true;
    bool has_images = false, has_categories = false;
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "images") {
        has_images = true;
        for (od::object obj : field.value().get_array()) {
          d.images.push_back(read_image(obj, d.images.size()));
        }
      } else if (key == "annotations") {
        for (od::object obj : field.value().get_array()) {
          d.annotations.push_back(read_annotation(obj, d.annotations.size()));
        }
      } else if (key == "categories") {
        has_categories = true;
        for (od::object obj : field.value().get_array()) {
          d.categories.push_back(read_category(obj, d.categories.size()));
        }
      }
    }
    if (!has_images || !has_categories) {
      throw InputError(fmt::format("not a COCO annotation file: no '{}' list", has_images ? "categories" : "images"));
    }
    check_dataset(d);
  } catch (const simdjson::simdjson_error& e) {
    throw InputError(fmt::format("{}: malformed COCO JSON{}: {}", name, where(started, doc, json), e.what()));
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", name, e.what()));
  }
  return d;
}

}  // namespace

std::vector<Detection> load_detections(const std::filesystem::path& path, const Dataset& gt) {
  return detections_from_json(read_file(path), path.string(), gt);
}

std::vector<Detection> parse_detections(std::string_view text, const std::string& name, const Dataset& gt) {
  return detections_from_json(simdjson::padded_string(text), name, gt);
}

namespace {

std::vector<Detection> detections_from_json(const simdjson::padded_string& json, const std::string& name,
                                            const Dataset& gt) {
  std::unordered_set<std::int64_t> images;
  for (const auto& im : gt.images) {
    images.insert(im.id);
  }
  od::parser parser;
  od::document doc;
  bool started = false;
  std::vector<Detection> out;
  try {
    doc = parser.iterate(json);
    started = true;
    for (od::object obj : doc.get_array()) {
      Detection det;
      bool image = false, category = false, bbox = false, score = false;
      const std::string what = fmt::format("detection [{}]", out.size());
      for (auto field : obj) {
        const std::string_view key = field.unescaped_key();
        if (key == "image_id") {
          det.image_id = field.value().get_int64();
          image = true;
        } else if (key == "category_id") {
          det.category_id = field.value().get_int64();
          category = true;
        } else if (key == "bbox") {
          det.bbox = read_box(field.value(), what);
          bbox = true;
        } else if (key == "score") {
          det.score = finite(field.value().get_double(), what + ": score");
          score = true;
        }
      }
      require(image, what, "image_id");
      require(category, what, "category_id");
      require(bbox, what, "bbox");
      require(score, what, "score");
      if (det.bbox.w < 0 || det.bbox.h < 0) {
        throw InputError(fmt::format("{}: bbox has a negative size", what));
      }
      if (!images.count(det.image_id)) {
        throw InputError(fmt::format("{}: image {} is not in the ground truth", what, det.image_id));
      }
      out.push_back(det);
    }
  } catch (const simdjson::simdjson_error& e) {
    throw InputError(fmt::format("{}: malformed results JSON{}: {}", name, where(started, doc, json), e.what()));
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", name, e.what()));
  }
  return out;
}

}  // namespace

}  // namespace moexp::coco
