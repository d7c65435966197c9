#include "report/detection_gallery.hpp"

#include "core/png_encode.hpp"
#include "report/gallery.hpp"
#include "report/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

namespace moexp::report {

std::int64_t object_level(const RoutedObject& object) {
  std::int64_t best = -1, most = 0;
  for (std::size_t l = 0; l < object.positives_l.size(); ++l) {
    if (object.positives_l[l] > most) {
      most = object.positives_l[l];
      best = static_cast<std::int64_t>(l);
    }
  }
  return best;
}

std::int64_t top_expert(const std::vector<float>& weights_e) {
  const auto it = std::max_element(weights_e.begin(), weights_e.end());  // the first of equal maxima
  return it == weights_e.end() ? -1 : static_cast<std::int64_t>(it - weights_e.begin());
}

std::int64_t size_bucket(double area) {
  return (area >= 32.0 * 32 ? 1 : 0) + (area >= 96.0 * 96 ? 1 : 0);
}

std::int64_t log_size_bin(double area) {
  const double side = std::sqrt(std::max(area, 0.0));
  if (side <= 0) {
    return 0;
  }
  const auto half_octaves = static_cast<std::int64_t>(std::floor(2 * std::log2(side))) - 4;  // 4 px -> 0
  return std::clamp<std::int64_t>(half_octaves, 0, kLogSizeBins - 1);
}

std::string log_size_bin_label(std::int64_t bin) {
  const auto edge = [](std::int64_t b) { return static_cast<long>(std::lround(std::pow(2.0, (b + 4) / 2.0))); };
  if (bin == 0) {
    return fmt::format("< {} px", edge(1));
  }
  if (bin == kLogSizeBins - 1) {
    return fmt::format(">= {} px", edge(bin));
  }
  return fmt::format("[{}, {}) px", edge(bin), edge(bin + 1));
}

namespace {

constexpr std::array<const char*, 3> kSizeNames{"small", "medium", "large"};

// The header columns of every head's weights and top expert.
std::string head_columns(const DetectionRoutingRecord& record) {
  std::string out;
  for (const auto& head : record.heads) {
    for (std::int64_t e = 0; e < record.experts; ++e) {
      out += fmt::format(",{}_weight_{}", head, e);
    }
    out += fmt::format(",{}_top_expert", head);
  }
  return out;
}

std::string head_values(const RoutedImage& image, std::int64_t level) {
  std::ostringstream out;
  for (const auto& levels : image.weights_hle) {
    const auto& w = levels.at(static_cast<std::size_t>(level));
    for (auto v : w) {
      out << ',' << v;
    }
    out << ',' << top_expert(w);
  }
  return out.str();
}

std::string csv_text(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return out + "\"";
}

std::map<std::int64_t, const RoutedImage*> images_by_id(const DetectionRoutingRecord& record) {
  std::map<std::int64_t, const RoutedImage*> out;
  for (const auto& image : record.images) {
    out.emplace(image.image_id, &image);
  }
  return out;
}

}  // namespace

RoutingCsvs detection_routing_csvs(const DetectionRoutingRecord& record, const std::vector<std::string>& class_names) {
  RoutingCsvs out;
  out.image_levels = "image_id,level,pyramid_level" + head_columns(record) + "\n";
  for (const auto& image : record.images) {
    for (std::int64_t l = 0; l < record.levels; ++l) {
      out.image_levels += fmt::format("{},{},P{}{}\n", image.image_id, l, l + 3, head_values(image, l));
    }
  }
  out.object_levels =
      "image_id,annotation_id,label,class,bbox_x,bbox_y,bbox_w,bbox_h,area,size,level,pyramid_level,positive_anchors" +
      head_columns(record) + "\n";
  const auto images = images_by_id(record);
  for (const auto& object : record.objects) {
    const auto image = images.find(object.image_id);
    if (image == images.end()) {
      throw std::invalid_argument(fmt::format("detection routing: object {} of image {} has no routed image",
                                              object.annotation_id, object.image_id));
    }
    const auto label = static_cast<std::size_t>(object.label);
    const auto name = label < class_names.size() ? class_names[label] : std::to_string(object.label);
    for (std::size_t l = 0; l < object.positives_l.size(); ++l) {
      if (object.positives_l[l] == 0) {
        continue;
      }
      const auto& b = object.box_xywh;
      out.object_levels +=
          fmt::format("{},{},{},{},{},{},{},{},{},{},{},P{},{}{}\n", object.image_id, object.annotation_id,
                      object.label, csv_text(name), b[0], b[1], b[2], b[3], object.area,
                      kSizeNames[static_cast<std::size_t>(size_bucket(object.area))], l, l + 3, object.positives_l[l],
                      head_values(*image->second, static_cast<std::int64_t>(l)));
    }
  }
  return out;
}

std::vector<std::vector<ExpertObjects>> expert_object_histograms(const DetectionRoutingRecord& record) {
  std::vector<std::vector<ExpertObjects>> out(record.heads.size());
  for (auto& head : out) {
    head.assign(static_cast<std::size_t>(record.experts),
                ExpertObjects{.tokens = 0,
                              .sizes = {},
                              .levels = std::vector<std::int64_t>(static_cast<std::size_t>(record.levels), 0),
                              .log_sizes = std::vector<std::int64_t>(kLogSizeBins, 0)});
  }
  const auto images = images_by_id(record);
  for (const auto& object : record.objects) {
    const auto image = images.find(object.image_id);
    if (image == images.end()) {
      continue;
    }
    for (std::size_t l = 0; l < object.positives_l.size(); ++l) {
      if (object.positives_l[l] == 0) {
        continue;
      }
      for (std::size_t h = 0; h < out.size(); ++h) {
        const auto e = top_expert(image->second->weights_hle.at(h).at(l));
        if (e < 0 || e >= record.experts) {
          continue;
        }
        auto& counts = out[h][static_cast<std::size_t>(e)];
        ++counts.tokens;
        ++counts.sizes[static_cast<std::size_t>(size_bucket(object.area))];
        ++counts.levels[l];
        ++counts.log_sizes[static_cast<std::size_t>(log_size_bin(object.area))];
      }
    }
  }
  return out;
}

std::vector<std::int64_t> choose_detection_images(const DetectionRoutingRecord& record, std::int64_t count,
                                                  std::uint64_t seed, const std::vector<std::int64_t>& requested) {
  if (!requested.empty()) {
    const auto images = images_by_id(record);
    for (auto id : requested) {
      if (images.count(id) == 0) {
        throw std::invalid_argument(fmt::format("image {} is not in the evaluated split", id));
      }
    }
    return requested;
  }
  std::vector<std::int64_t> ids;
  for (auto i : draw_without_replacement(static_cast<std::int64_t>(record.images.size()), count, seed)) {
    ids.push_back(record.images[static_cast<std::size_t>(i)].image_id);
  }
  return ids;
}

std::array<std::uint8_t, 3> expert_colour(std::int64_t expert) {
  // Tableau's ten, then the same hues darkened for experts 10-19, and so on.
  static constexpr std::array<std::array<std::uint8_t, 3>, 10> kPalette{{{31, 119, 180},
                                                                         {255, 127, 14},
                                                                         {44, 160, 44},
                                                                         {214, 39, 40},
                                                                         {148, 103, 189},
                                                                         {140, 86, 75},
                                                                         {227, 119, 194},
                                                                         {188, 189, 34},
                                                                         {23, 190, 207},
                                                                         {255, 215, 0}}};
  if (expert < 0) {
    return kUnroutedColour;
  }
  auto c = kPalette[static_cast<std::size_t>(expert % 10)];
  for (std::int64_t round = expert / 10; round > 0; --round) {
    for (auto& v : c) {
      v = static_cast<std::uint8_t>(v * 2 / 3);
    }
  }
  return c;
}

RgbImage shrink_image(const RgbImage& image, int factor) {
  if (factor <= 1) {
    return image;
  }
  RgbImage out{.width = image.width / factor, .height = image.height / factor, .rgb = {}};
  out.rgb.resize(static_cast<std::size_t>(out.width) * static_cast<std::size_t>(out.height) * 3);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (int dy = 0; dy < factor; ++dy) {
          for (int dx = 0; dx < factor; ++dx) {
            sum += image.rgb[(static_cast<std::size_t>(y * factor + dy) * static_cast<std::size_t>(image.width) +
                              static_cast<std::size_t>(x * factor + dx)) *
                                 3 +
                             static_cast<std::size_t>(c)];
          }
        }
        out.rgb[(static_cast<std::size_t>(y) * static_cast<std::size_t>(out.width) + static_cast<std::size_t>(x)) * 3 +
                static_cast<std::size_t>(c)] =
            static_cast<std::uint8_t>((sum + factor * factor / 2) / (factor * factor));
      }
    }
  }
  return out;
}

void draw_box(RgbImage& image, const std::array<double, 4>& box_xywh, const std::array<std::uint8_t, 3>& colour,
              int thickness, bool dashed) {
  const int x1 = static_cast<int>(std::lround(box_xywh[0]));
  const int y1 = static_cast<int>(std::lround(box_xywh[1]));
  const int x2 = static_cast<int>(std::lround(box_xywh[0] + box_xywh[2])) - 1;  // last pixel inside
  const int y2 = static_cast<int>(std::lround(box_xywh[1] + box_xywh[3])) - 1;
  const auto put = [&](int x, int y, int along) {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height || (dashed && along % 7 >= 4)) {
      return;
    }
    auto* p =
        &image.rgb[(static_cast<std::size_t>(y) * static_cast<std::size_t>(image.width) + static_cast<std::size_t>(x)) *
                   3];
    std::copy(colour.begin(), colour.end(), p);
  };
  for (int t = 0; t < thickness && x1 + t <= x2 - t && y1 + t <= y2 - t; ++t) {
    for (int x = x1 + t; x <= x2 - t; ++x) {
      put(x, y1 + t, x - x1);
      put(x, y2 - t, x - x1);
    }
    for (int y = y1 + t; y <= y2 - t; ++y) {
      put(x1 + t, y, y - y1);
      put(x2 - t, y, y - y1);
    }
  }
}

namespace {

std::string colour_css(std::int64_t expert) {
  const auto c = expert_colour(expert);
  return fmt::format("rgb({},{},{})", c[0], c[1], c[2]);
}

// One histogram row: label, count, a bar scaled to `largest`.
std::string bar_row(const std::string& label, std::int64_t count, std::int64_t largest, std::int64_t expert) {
  const double width = largest > 0 ? 120.0 * static_cast<double>(count) / static_cast<double>(largest) : 0;
  return fmt::format(
      "<tr><td>{}</td><td class=\"n\">{}</td><td><span class=\"bar\" style=\"width:{:.0f}px;background:{}\"></span>"
      "</td></tr>",
      html_escape(label), count, width, colour_css(expert));
}

}  // namespace

std::string expert_objects_html(const ExpertObjects& counts, std::int64_t expert, const std::string& heading) {
  std::string out = fmt::format(
      "<div class=\"expert\"><h4><span class=\"swatch\" style=\"background:{}\"></span>{} — {} (object, level) "
      "tokens</h4><table>",
      colour_css(expert), html_escape(heading), counts.tokens);
  const auto largest = [](const auto& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); };
  out += "<tr><th colspan=\"3\">COCO size</th></tr>";
  for (std::size_t s = 0; s < counts.sizes.size(); ++s) {
    out += bar_row(kSizeNames[s], counts.sizes[s], largest(counts.sizes), expert);
  }
  out += "<tr><th colspan=\"3\">pyramid level</th></tr>";
  for (std::size_t l = 0; l < counts.levels.size(); ++l) {
    out += bar_row(fmt::format("P{}", l + 3), counts.levels[l], largest(counts.levels), expert);
  }
  out += "<tr><th colspan=\"3\">side (sqrt area)</th></tr>";
  // Only the bins from the first to the last non-empty one.
  const auto first = std::find_if(counts.log_sizes.begin(), counts.log_sizes.end(), [](auto n) { return n > 0; });
  const auto last = std::find_if(counts.log_sizes.rbegin(), counts.log_sizes.rend(), [](auto n) { return n > 0; });
  if (first != counts.log_sizes.end()) {
    const auto begin = first - counts.log_sizes.begin();
    const auto end = counts.log_sizes.rend() - last;
    for (auto b = begin; b < end; ++b) {
      out += bar_row(log_size_bin_label(b), counts.log_sizes[static_cast<std::size_t>(b)], largest(counts.log_sizes),
                     expert);
    }
  }
  return out + "</table></div>";
}

std::string detection_gallery_html(const DetectionGalleryPage& page, bool inline_images) {
  std::string out = fmt::format(R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
figure {{ display: inline-block; margin: 3px; text-align: center; font-size: 11px; vertical-align: top; }}
figure img {{ display: block; margin: auto; max-width: 320px; }}
.legend span, .swatch {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px; vertical-align: middle; }}
.expert {{ display: inline-block; vertical-align: top; margin: 4px 12px 4px 0; font-size: 12px; }}
.expert h4 {{ margin: 4px 0; }}
.expert td.n {{ text-align: right; padding-right: 4px; }}
.bar {{ display: inline-block; height: 10px; }}
</style></head><body>
<h1>{0}</h1>
<p class="how">{1}</p>
)",
                                html_escape(page.title), html_escape(page.how_chosen));
  for (const auto& head : page.heads) {
    out += fmt::format("<h2>MoE {}</h2>\n<p class=\"legend\">", html_escape(head.name));
    for (std::int64_t e = 0; e < page.experts; ++e) {
      out += fmt::format("<span style=\"background:{}\"></span>expert {}", colour_css(e), e);
    }
    out += fmt::format(
        "<span style=\"background:{}\"></span>no positive anchors. Ground truth: solid, 2 px; detections (score >= "
        "{}): dashed, 1 px.</p>\n<div class=\"images\">",
        colour_css(-1), kGalleryScoreThreshold);
    for (const auto& image : head.images) {
      const auto src = inline_images ? "data:image/png;base64," + core::base64(image.png) : html_escape(image.file);
      out += fmt::format("<figure><img src=\"{}\" alt=\"image {}\"><figcaption>{}</figcaption></figure>", src,
                         image.image_id, html_escape(image.caption));
    }
    out += "</div>\n<h3>Objects routed to each expert (its top expert on the object's levels)</h3>\n<div>";
    for (std::size_t e = 0; e < head.experts.size(); ++e) {
      out += expert_objects_html(head.experts[e], static_cast<std::int64_t>(e), fmt::format("expert {}", e));
    }
    out += "</div>\n";
  }
  return out + "</body></html>\n";
}

}  // namespace moexp::report
