// The shapes generator: see shapes.hpp. Objects never overlap (so an annotation's area is exactly its drawn pixels),
// large ones are placed first so that they fit, and each size band keeps a wide margin from COCO's 32² and 96².
#include "coco/shapes.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/png_encode.hpp"
#include "core/random.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>

namespace moexp::coco {
namespace {

namespace fs = std::filesystem;

constexpr double kPi = 3.14159265358979323846;
constexpr double kRingInner = 0.55;  // inner radius / outer radius
// Drawn fraction of the side x side box, per category (square, disc, triangle, ring).
constexpr std::array<double, 4> kFill{1.0, kPi / 4, 0.5, kPi / 4 * (1 - kRingInner * kRingInner)};
constexpr double kEmptyImage = 0.08;  // probability of an image without objects
constexpr double kCrowdImage = 0.05;  // probability of a crowd region in an image
constexpr int kGap = 2;               // pixels kept free between objects

// Drawn-area bands (pixels): small, medium, large. COCO's cut-offs are 1024 and 9216: the default bands keep a
// margin from them, `contiguous` ones meet at them (an area is then drawn log-uniformly within its band).
struct Band {
  double lo, hi;
};
std::array<Band, 3> bands(int size, bool contiguous) {
  const double large_hi = std::min(20000.0, kFill[2] * (size - 4) * (size - 4));  // a triangle still fits
  if (contiguous) {
    return {{{160, 1024}, {1024, 9216}, {9216, large_hi}}};
  }
  return {{{160, 640}, {1800, 6000}, {11000, large_hi}}};
}

struct Placed {
  int x, y, w, h;
};

bool overlaps(const std::vector<Placed>& placed, int x, int y, int w, int h) {
  return std::any_of(placed.begin(), placed.end(), [&](const Placed& p) {
    return x < p.x + p.w + kGap && p.x < x + w + kGap && y < p.y + p.h + kGap && p.y < y + h + kGap;
  });
}

// A free spot for a side x side box (up to 100 random tries), recorded in `placed`; nullopt when none was found.
std::optional<Placed> place(core::Random& rng, std::vector<Placed>& placed, int size, int side) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int x = static_cast<int>(rng.below(static_cast<std::uint64_t>(size - side + 1)));
    const int y = static_cast<int>(rng.below(static_cast<std::uint64_t>(size - side + 1)));
    if (!overlaps(placed, x, y, side, side)) {
      placed.push_back({x, y, side, side});
      return placed.back();
    }
  }
  return std::nullopt;
}

// Whether pixel centre (px, py) is inside shape `category` of box (x, y, side, side).
bool inside(int category, double px, double py, int x, int y, int side) {
  const double s = side;
  const double u = (px - x) / s;  // 0..1 across the box
  const double v = (py - y) / s;
  switch (category) {
    case 0:
      return true;
    case 1:
    case 3: {
      const double d2 = (u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5);
      return d2 <= 0.25 && (category == 1 || d2 >= 0.25 * kRingInner * kRingInner);
    }
    default:  // triangle: apex at the top centre, base at the bottom
      return v >= 0 && std::abs(u - 0.5) <= 0.5 * v;
  }
}

// One image of the set (a plain write: the set goes to a staging folder that is renamed into place when complete and
// removed on failure).
void write_png(const fs::path& path, const std::vector<std::uint8_t>& rgb, int size) {
  const auto bytes = core::encode_png(rgb, size, size, 3);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file || std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size() || std::fflush(file.get()) != 0) {
    throw Error(fmt::format("cannot write {}", path.string()));
  }
}

std::array<std::uint8_t, 3> contrasting_colour(core::Random& rng, const std::array<int, 3>& base) {
  std::array<std::uint8_t, 3> c{};
  for (int attempt = 0; attempt < 50; ++attempt) {
    int distance = 0;
    for (int k = 0; k < 3; ++k) {
      c[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(rng.below(256));
      distance += std::abs(c[static_cast<std::size_t>(k)] - base[static_cast<std::size_t>(k)]);
    }
    if (distance >= 160) {
      break;
    }
  }
  return c;
}

struct Annotated {
  DrawnShape shape;
  bool crowd = false;
};

// One image: its pixels and annotations.
std::vector<Annotated> draw_image(core::Random& rng, int size, double correlation, bool contiguous,
                                  std::vector<std::uint8_t>& rgb) {
  rgb.assign(static_cast<std::size_t>(size) * static_cast<std::size_t>(size) * 3, 0);
  // Background: a base colour, a slanted stripe texture and pixel noise.
  const std::array<int, 3> base{static_cast<int>(rng.uniform(40, 215)), static_cast<int>(rng.uniform(40, 215)),
                                static_cast<int>(rng.uniform(40, 215))};
  const double fx = rng.uniform(0.05, 0.4);
  const double fy = rng.uniform(0.05, 0.4);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const double wave = 14 * std::sin(fx * x + fy * y);
      for (int k = 0; k < 3; ++k) {
        const double v = base[static_cast<std::size_t>(k)] + wave + rng.uniform(-8, 8);
        rgb[(static_cast<std::size_t>(y) * static_cast<std::size_t>(size) + static_cast<std::size_t>(x)) * 3 +
            static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
      }
    }
  }
  std::vector<Annotated> out;
  std::vector<Placed> placed;
  const auto band_of = bands(size, contiguous);
  const bool empty = rng.uniform() < kEmptyImage;
  std::vector<int> object_bands;
  if (!empty) {
    const int n = 1 + static_cast<int>(rng.below(4));
    for (int i = 0; i < n; ++i) {
      object_bands.push_back(static_cast<int>(rng.below(3)));
    }
    std::sort(object_bands.rbegin(), object_bands.rend());  // large first, so that they fit
  }
  for (int band : object_bands) {
    const int category = rng.uniform() < correlation ? band : static_cast<int>(rng.below(4));
    const auto& b = band_of[static_cast<std::size_t>(band)];
    const double area = contiguous ? std::exp(rng.uniform(std::log(b.lo), std::log(b.hi))) : rng.uniform(b.lo, b.hi);
    const double fill = kFill[static_cast<std::size_t>(category)];
    const int side = std::min(size - 2, static_cast<int>(std::lround(std::sqrt(area / fill))));
    if (const auto spot = place(rng, placed, size, side)) {
      out.push_back({draw_shape(rgb, size, category, spot->x, spot->y, side, contrasting_colour(rng, base)), false});
    }
  }
  if (!empty && rng.uniform() < kCrowdImage) {
    // A crowd region: a cluster of small discs annotated as one crowd box.
    const int side = static_cast<int>(rng.uniform(36, 56));
    if (const auto spot = place(rng, placed, size, side)) {
      const int x = spot->x;
      const int y = spot->y;
      std::vector<std::uint8_t> mask(static_cast<std::size_t>(side) * static_cast<std::size_t>(side), 0);
      const auto colour = contrasting_colour(rng, base);
      const int discs = 5 + static_cast<int>(rng.below(5));
      DrawnShape crowd{static_cast<int>(rng.below(4)), x + side, y + side, 0, 0, 0};
      int x1 = x, y1 = y;
      for (int d = 0; d < discs; ++d) {
        const int r = 3 + static_cast<int>(rng.below(4));
        const int dx = static_cast<int>(rng.below(static_cast<std::uint64_t>(side - 2 * r)));
        const int dy = static_cast<int>(rng.below(static_cast<std::uint64_t>(side - 2 * r)));
        for (int py = 0; py < 2 * r; ++py) {
          for (int px = 0; px < 2 * r; ++px) {
            if (!inside(1, px + 0.5, py + 0.5, 0, 0, 2 * r)) {
              continue;
            }
            const int mx = dx + px, my = dy + py;
            auto& m =
                mask[static_cast<std::size_t>(my) * static_cast<std::size_t>(side) + static_cast<std::size_t>(mx)];
            if (!m) {
              m = 1;
              ++crowd.pixels;
              const int ix = x + mx, iy = y + my;
              std::copy(colour.begin(), colour.end(),
                        rgb.begin() +
                            static_cast<std::ptrdiff_t>((static_cast<std::size_t>(iy) * static_cast<std::size_t>(size) +
                                                         static_cast<std::size_t>(ix)) *
                                                        3));
              crowd.x = std::min(crowd.x, ix);
              crowd.y = std::min(crowd.y, iy);
              x1 = std::max(x1, ix);
              y1 = std::max(y1, iy);
            }
          }
        }
      }
      crowd.w = x1 - crowd.x + 1;
      crowd.h = y1 - crowd.y + 1;
      out.push_back({crowd, true});
    }
  }
  return out;
}

// The COCO instances file of one split.
std::string split_json(const ShapesOptions& o, const std::vector<std::vector<Annotated>>& images) {
  std::string out = fmt::format(
      "{{\"info\": {{\"description\": \"moexp shapes: synthetic detection data\", \"seed\": {}, "
      "\"size\": {}, \"size_class_correlation\": {}, \"contiguous_areas\": {}}},\n\"images\": [",
      o.seed, o.size, core::json_number(o.size_class_correlation), o.contiguous_areas ? "true" : "false");
  for (std::size_t i = 0; i < images.size(); ++i) {
    out += fmt::format("{}\n  {{\"id\": {}, \"file_name\": \"{:06d}.png\", \"width\": {}, \"height\": {}}}",
                       i ? "," : "", i + 1, i + 1, o.size, o.size);
  }
  out += "],\n\"annotations\": [";
  std::int64_t id = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    for (const auto& a : images[i]) {
      const auto& s = a.shape;
      out += fmt::format(
          "{}\n  {{\"id\": {}, \"image_id\": {}, \"category_id\": {}, \"bbox\": [{}, {}, {}, {}], "
          "\"area\": {}, \"iscrowd\": {}}}",
          id ? "," : "", id + 1, i + 1, kShapeCategories[static_cast<std::size_t>(s.category)].id, s.x, s.y, s.w, s.h,
          s.pixels, a.crowd ? 1 : 0);
      ++id;
    }
  }
  out += "],\n\"categories\": [";
  for (std::size_t c = 0; c < kShapeCategories.size(); ++c) {
    out += fmt::format("{}\n  {{\"id\": {}, \"name\": \"{}\", \"supercategory\": \"shape\"}}", c ? "," : "",
                       kShapeCategories[c].id, kShapeCategories[c].name);
  }
  out += "]}\n";
  return out;
}

ShapesSplitSummary write_split(const ShapesOptions& o, const fs::path& root, const char* split, int count,
                               std::uint64_t split_index) {
  fs::create_directories(root / split);
  std::vector<std::vector<Annotated>> images;
  ShapesSplitSummary summary;
  std::vector<std::uint8_t> rgb;
  for (int i = 0; i < count; ++i) {
    // Each image from its own stream: (seed, split, index) -> the same image whatever the other counts.
    core::Random rng(o.seed * 0x9e3779b97f4a7c15ULL ^ (split_index << 56) ^ static_cast<std::uint64_t>(i));
    rng.next_u64();
    auto annotated = draw_image(rng, o.size, o.size_class_correlation, o.contiguous_areas, rgb);
    write_png(root / split / fmt::format("{:06d}.png", i + 1), rgb, o.size);
    ++summary.images;
    summary.empty_images += annotated.empty() ? 1 : 0;
    for (const auto& a : annotated) {
      if (a.crowd) {
        ++summary.crowd;
        continue;
      }
      ++summary.objects;
      ++summary.by_bucket[a.shape.pixels < 1024 ? 0 : a.shape.pixels <= 9216 ? 1 : 2];
    }
    images.push_back(std::move(annotated));
  }
  fs::create_directories(root / "annotations");
  core::write_file_atomic(root / "annotations" / fmt::format("instances_{}.json", split), split_json(o, images));
  return summary;
}

}  // namespace

DrawnShape draw_shape(std::vector<std::uint8_t>& rgb, int size, int category, int x, int y, int side,
                      const std::array<std::uint8_t, 3>& colour) {
  DrawnShape s{category, x + side, y + side, 0, 0, 0};
  int x1 = -1, y1 = -1;
  for (int py = y; py < y + side && py < size; ++py) {
    for (int px = x; px < x + side && px < size; ++px) {
      if (!inside(category, px + 0.5, py + 0.5, x, y, side)) {
        continue;
      }
      std::copy(
          colour.begin(), colour.end(),
          rgb.begin() +
              static_cast<std::ptrdiff_t>(
                  (static_cast<std::size_t>(py) * static_cast<std::size_t>(size) + static_cast<std::size_t>(px)) * 3));
      ++s.pixels;
      s.x = std::min(s.x, px);
      s.y = std::min(s.y, py);
      x1 = std::max(x1, px);
      y1 = std::max(y1, py);
    }
  }
  s.w = s.pixels ? x1 - s.x + 1 : 0;
  s.h = s.pixels ? y1 - s.y + 1 : 0;
  return s;
}

ShapesSummary generate_shapes(const ShapesOptions& o) {
  if (o.size < 160 || o.size > 4096) {
    throw InputError(fmt::format("--size {}: use 160 .. 4096 pixels (the large size band needs 160)", o.size));
  }
  if (o.train < 0 || o.val < 0 || o.train + o.val == 0) {
    throw InputError(fmt::format("--train {} --val {}: ask for at least one image, none negative", o.train, o.val));
  }
  if (!(o.size_class_correlation >= 0 && o.size_class_correlation <= 1)) {
    throw InputError(fmt::format("--size-class-correlation {}: use a probability in [0, 1]", o.size_class_correlation));
  }
  if (o.out.empty()) {
    throw InputError("--out: name the folder to create");
  }
  std::error_code ec;
  if (fs::exists(o.out, ec) && !(fs::is_directory(o.out, ec) && fs::is_empty(o.out, ec))) {
    throw InputError(fmt::format("--out {}: exists and is not an empty folder (nothing was written)", o.out.string()));
  }
  const fs::path target = fs::absolute(o.out);
  const fs::path staging = target.parent_path() / fmt::format(".{}.tmp-{}", target.filename().string(), ::getpid());
  ShapesSummary summary;
  try {
    fs::create_directories(staging);
    summary.train = write_split(o, staging, "train", o.train, 0);
    summary.val = write_split(o, staging, "val", o.val, 1);
    if (fs::exists(target, ec)) {
      fs::remove(target);  // the empty folder the check allowed
    }
    fs::rename(staging, target);
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  return summary;
}

}  // namespace moexp::coco
