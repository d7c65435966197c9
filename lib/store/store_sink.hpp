// StoreSink: the trainer's MetricsSink backed by the results database.
#pragma once

#include "core/metrics.hpp"

#include <cstdint>

namespace moexp::store {

class ResultStore;

// Writes each epoch of run `run_id` to `store` (one transaction per epoch).
class StoreSink : public MetricsSink {
 public:
  StoreSink(ResultStore& store, std::int64_t run_id) : m_store(store), m_run_id(run_id) {}
  void record_epoch(const EpochRecord& record) override;

 private:
  ResultStore& m_store;
  std::int64_t m_run_id;
};

}  // namespace moexp::store
