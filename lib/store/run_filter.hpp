// The run filter language of `moexp runs --where` and `moexp report --where`, compiled to SQL with bound parameters.
//   constraint.kind = 'relative' and moe.num_experts in (4, 10) or not (status != 'finished')
// Terms: KEY OP VALUE, KEY in (VALUE, ...); OP is = != < <= > >=; and / or / not / parentheses. KEY is a config key
// (moe.num_experts), a run attribute (id, name, status, epochs_done, wall_seconds, best_test_acc) or a named metric
// (test_acc, test_top5_acc, aux_loss: its value at the run's final stored epoch; a run without it never matches a
// comparison). VALUE is a number or a quoted string. Nothing the user types is spliced into SQL text.
#pragma once

#include <string>
#include <variant>
#include <vector>

namespace moexp::store {

// A compiled filter: an SQL boolean expression over the `runs` table (aliased `r`) and the values to bind, in order.
struct CompiledFilter {
  std::string sql = "1";
  std::vector<std::variant<double, std::string>> params;
};

// Parse and compile `filter` ("" matches every run); `metric_keys` are the metric keys it may name (the database's:
// ResultStore::metric_keys). Throws InputError "where: ... at column N" on a syntax error or an unknown key.
CompiledFilter compile_filter(const std::string& filter, const std::vector<std::string>& metric_keys);

}  // namespace moexp::store
