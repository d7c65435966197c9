// SweepStore: sweeps, the runs they plan, attempts and Slurm tasks.
#include "store/sweep_store.hpp"

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "store/sqlite.hpp"

#include <cstdint>

namespace moexp::store {

std::int64_t SweepStore::upsert(const std::string& name, const std::string& spec_path, const std::string& spec_hash) {
  const auto now = core::now_iso8601();
  Statement upsert(m_db, R"sql(
    INSERT INTO sweeps (name, spec_path, spec_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET spec_path = excluded.spec_path, spec_hash = excluded.spec_hash,
                                     updated_at = excluded.updated_at)sql");
  upsert.bind_all(name, spec_path, spec_hash, now, now);
  upsert.run();
  return *find(name);
}

std::optional<std::int64_t> SweepStore::find(const std::string& name) {
  Statement q(m_db, "SELECT id FROM sweeps WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) {
    return std::nullopt;
  }
  return q.column_int(0);
}

void SweepStore::begin_plan(std::int64_t sweep_id) {
  Statement update(m_db, "UPDATE sweep_runs SET planned = 0 WHERE sweep_id = ?");
  update.bind(1, sweep_id);
  update.run();
}

void SweepStore::link_run(std::int64_t sweep_id, std::int64_t run_id, std::int64_t position, const std::string& label) {
  Statement link(m_db, R"sql(
    INSERT INTO sweep_runs (sweep_id, run_id, position, label, planned) VALUES (?, ?, ?, ?, 1)
    ON CONFLICT (sweep_id, run_id) DO UPDATE SET position = excluded.position, label = excluded.label, planned = 1)sql");
  link.bind_all(sweep_id, run_id, position, label);
  link.run();
}

std::vector<SweepRunRow> SweepStore::runs(std::int64_t sweep_id, const std::string& metric_key) {
  const Metric metric = parse_metric_key(metric_key);
  Statement q(m_db, R"sql(
    SELECT r.id, l.position, l.label, r.status, r.pid, coalesce(r.host, ''), coalesce(r.heartbeat_at, ''),
           r.epochs_done, (SELECT count(*) FROM attempts a WHERE a.run_id = r.id),
           (SELECT m.value FROM epoch_metrics m WHERE m.run_id = r.id AND m.split = ? AND m.name = ?
            ORDER BY m.epoch DESC LIMIT 1),
           r.wall_seconds, coalesce(r.error, ''),
           coalesce((SELECT t.array_job_id || '_' || t.task_index || ' ' || t.state FROM slurm_tasks t
                     WHERE t.run_id = r.id ORDER BY t.id DESC LIMIT 1), ''), l.planned
    FROM sweep_runs l JOIN runs r ON r.id = l.run_id
    WHERE l.sweep_id = ? ORDER BY l.position)sql");
  q.bind_all(metric.split, metric.name, sweep_id);
  return collect_rows<SweepRunRow>(q, [](const Statement& row, SweepRunRow& r) {
    row.read(r.run_id, r.position, r.label, r.status, r.pid, r.host, r.heartbeat_at, r.epochs_done, r.attempts,
             r.metric, r.wall_seconds, r.error, r.slurm, r.planned);
  });
}

void SweepStore::record_attempt(const AttemptRecord& a) {
  Statement insert(m_db, R"sql(
    INSERT INTO attempts (run_id, sweep_id, started_at, ended_at, seconds, slot, exit_code, signal, outcome,
                          stderr_tail)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
  insert.bind_all(a.run_id, a.sweep_id, a.started_at, core::now_iso8601(), a.seconds, a.slot, a.exit_code, a.signal,
                  std::string(to_text(a.outcome)), a.stderr_tail);
  insert.run();
}

std::int64_t SweepStore::attempt_count(std::int64_t run_id) {
  Statement q(m_db, "SELECT count(*) FROM attempts WHERE run_id = ?");
  q.bind(1, run_id);
  q.step();
  std::int64_t count = 0;
  q.read(count);
  return count;
}

std::int64_t SweepStore::spent_attempts(std::int64_t run_id) {
  Statement q(m_db, "SELECT count(*) FROM attempts WHERE run_id = ? AND (outcome = ? OR outcome = ?)");
  q.bind(1, run_id);
  q.bind(2, to_text(AttemptOutcome::failed));
  q.bind(3, to_text(AttemptOutcome::timeout));
  q.step();
  std::int64_t count = 0;
  q.read(count);
  return count;
}

void SweepStore::record_slurm_array(std::int64_t array_job_id, std::optional<std::int64_t> sweep_id,
                                    const std::string& script, const std::vector<std::int64_t>& run_ids) {
  Transaction tx(m_db);
  Statement insert(m_db, R"sql(
    INSERT INTO slurm_tasks (array_job_id, task_index, run_id, sweep_id, script, submitted_at, state)
    VALUES (?, ?, ?, ?, ?, ?, 'SUBMITTED'))sql");
  const auto now = core::now_iso8601();
  for (std::size_t i = 0; i < run_ids.size(); ++i) {
    insert.reset();
    insert.bind_all(array_job_id, static_cast<std::int64_t>(i), run_ids[i], sweep_id, script, now);
    insert.run();
  }
  tx.commit();
}

std::vector<SlurmTaskRow> SweepStore::open_slurm_tasks(std::optional<std::int64_t> sweep_id) {
  Statement q(m_db, R"sql(
    SELECT id, array_job_id, task_index, run_id, submitted_at, state, coalesce(started_at, '')
    FROM slurm_tasks WHERE outcome IS NULL AND (? IS NULL OR sweep_id = ?) ORDER BY id)sql");
  q.bind_all(sweep_id, sweep_id);
  return collect_rows<SlurmTaskRow>(q, [](const Statement& row, SlurmTaskRow& t) {
    row.read(t.id, t.array_job_id, t.task_index, t.run_id, t.submitted_at, t.state, t.started_at);
  });
}

void SweepStore::update_slurm_task(std::int64_t id, const std::string& state, bool started) {
  Statement update(m_db, R"sql(
    UPDATE slurm_tasks SET state = ?, started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END
    WHERE id = ?)sql");
  update.bind_all(state, static_cast<std::int64_t>(started), core::now_iso8601(), id);
  update.run();
}

void SweepStore::settle_slurm_task(std::int64_t id, const std::string& state, AttemptOutcome outcome) {
  Statement update(m_db, "UPDATE slurm_tasks SET state = ?, outcome = ?, ended_at = ? WHERE id = ?");
  update.bind_all(state, std::string(to_text(outcome)), core::now_iso8601(), id);
  update.run();
}

}  // namespace moexp::store
