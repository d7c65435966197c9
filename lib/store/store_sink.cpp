#include "store/store_sink.hpp"

#include "store/result_store.hpp"

namespace moexp::store {

void StoreSink::record_epoch(const EpochRecord& record) {
  m_store.record_epoch(m_run_id, record);
}

}  // namespace moexp::store
