// The closed sets of the experiment schema (config/choices.hpp): names round-trip, the schema offers exactly the
// enum's names, and a loaded config holds the enum, written back under the same name.
#include "config/canonical.hpp"
#include "config/choices.hpp"
#include "config/load.hpp"
#include "config/schema.hpp"
#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

using namespace moexp;
using namespace moexp::config;

namespace {

template <Choice Enum>
void check_round_trip() {
  const auto names = choice_names<Enum>();
  REQUIRE_FALSE(names.empty());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto value = parse_choice<Enum>(names[i]);
    REQUIRE(value.has_value());
    CHECK(static_cast<std::size_t>(*value) == i);
    CHECK(name_of(*value) == names[i]);
    CHECK(fmt::format("{}", *value) == names[i]);
  }
  CHECK_FALSE(parse_choice<Enum>("").has_value());
  CHECK_FALSE(parse_choice<Enum>(names.front() + "x").has_value());
}

}  // namespace

TEST_CASE("choices: every closed set's names parse to their enum and back") {
  check_round_trip<Arch>();
  check_round_trip<Backbone>();
  check_round_trip<Freeze>();
  check_round_trip<MoeHead>();
  check_round_trip<GateKind>();
  check_round_trip<Variant>();
  check_round_trip<ExpertWidth>();
  check_round_trip<Dispatch>();
  check_round_trip<BoxLoss>();
  check_round_trip<Optimizer>();
  check_round_trip<Schedule>();
  check_round_trip<Precision>();
  check_round_trip<MemoryFormat>();
  check_round_trip<OnDevice>();
  check_round_trip<Constraint>();
  check_round_trip<Dataset>();
  // Names that are C++ keywords or too general for an enumerator keep their TOML spelling.
  CHECK(name_of(Variant::plain) == "default");
  CHECK(name_of(Dispatch::automatic) == "auto");
  CHECK(name_of(Precision::automatic) == "auto");
  CHECK(name_of(MemoryFormat::automatic) == "auto");
  CHECK(name_of(OnDevice::automatic) == "auto");
}

TEST_CASE("choices: the schema offers exactly each set's names, and what a key holds reads back as that name") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> keys{
      {"model.arch", choice_names<Arch>()},
      {"model.backbone", choice_names<Backbone>()},
      {"model.freeze", choice_names<Freeze>()},
      {"moe.head", choice_names<MoeHead>()},
      {"moe.gate", choice_names<GateKind>()},
      {"moe.variant", choice_names<Variant>()},
      {"moe.expert_width", choice_names<ExpertWidth>()},
      {"moe.noise_input", choice_names<NoiseInput>()},
      {"moe.combine", choice_names<Combine>()},
      {"moe.expert_init", choice_names<ExpertInit>()},
      {"moe.dispatch", choice_names<Dispatch>()},
      {"detection.box_loss", choice_names<BoxLoss>()},
      {"train.optimizer", choice_names<Optimizer>()},
      {"train.schedule", choice_names<Schedule>()},
      {"train.precision", choice_names<Precision>()},
      {"train.memory_format", choice_names<MemoryFormat>()},
      {"constraint.kind", choice_names<Constraint>()},
      {"data.dataset", choice_names<Dataset>()},
      {"data.on_device", choice_names<OnDevice>()},
  };
  std::size_t with_choices = 0;
  for (const auto& spec : experiment_keys()) {
    with_choices += spec.choices.empty() ? 0 : 1;
  }
  CHECK(with_choices == keys.size());  // no closed set of strings is left untyped
  for (const auto& entry : keys) {
    const auto& names = entry.second;
    CAPTURE(entry.first);
    const KeySpec* spec = find_key(entry.first);
    REQUIRE(spec != nullptr);
    CHECK(spec->choices == names);
    ExperimentConfig cfg;
    for (const auto& name : names) {
      spec->set(cfg, Value{name});
      CHECK(std::get<std::string>(spec->get(cfg)) == name);
    }
  }
}

TEST_CASE("choices: a loaded experiment holds enums, an unknown name is a config error naming the choices") {
  const auto cfg = load_experiment_text(test::tiny_experiment_toml(), "tiny.toml",
                                        {"train.optimizer=sgd", "train.schedule=cosine", "moe.gate=conv_gap_fc",
                                         "moe.variant=default", "constraint.kind=relative"})
                       .config;
  CHECK(cfg.train.optimizer == Optimizer::sgd);
  CHECK(cfg.train.schedule == Schedule::cosine);
  CHECK(cfg.moe.gate == GateKind::conv_gap_fc);
  CHECK(cfg.moe.variant == Variant::plain);
  CHECK(cfg.constraint.kind == Constraint::relative);
  CHECK(cfg.data.dataset == Dataset::synthetic);
  const auto text = canonical_toml(cfg);
  CHECK(text.find("optimizer = \"sgd\"") != std::string::npos);
  CHECK(text.find("variant = \"default\"") != std::string::npos);
  const auto message = test::message_of<ConfigError>(
      [] { load_experiment_text(test::tiny_experiment_toml(), "tiny.toml", {"train.optimizer=adamw"}); });
  CHECK(message.find("train.optimizer: 'adamw' is not allowed; use 'adam' or 'sgd'") != std::string::npos);
}
