// ResultStore: sweeps, their runs, claims and attempts.
#include "core/clock.hpp"
#include "core/host.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"

#include <unistd.h>

namespace moexp::store {

std::int64_t ResultStore::create_pending_run(const NewRun& run) {
  const auto id = create_run(run);
  Statement update(*m_db, "UPDATE runs SET status = 'pending', started_at = NULL, pid = NULL WHERE id = ?");
  update.bind(1, id);
  update.run();
  return id;
}

void ResultStore::ensure_run_classes(std::int64_t id, const std::vector<ClassInfo>& classes) {
  Transaction tx(*m_db);
  Statement cls(*m_db, R"sql(
    INSERT OR IGNORE INTO run_classes (run_id, class, name, superclass, superclass_name) VALUES (?, ?, ?, ?, ?))sql");
  for (std::size_t c = 0; c < classes.size(); ++c) {
    cls.reset();
    cls.bind_all(id, static_cast<std::int64_t>(c), classes[c].name, classes[c].superclass, classes[c].superclass_name);
    cls.run();
  }
  tx.commit();
}

bool ResultStore::claim_run(std::int64_t id, RunStatus status, std::optional<std::int64_t> pid,
                            std::optional<std::int64_t> claim_pid) {
  const auto self = static_cast<std::int64_t>(::getpid());
  Statement update(*m_db, R"sql(
    UPDATE runs SET status = 'running', pid = NULL, heartbeat_at = ?, claim_host = ?, claim_pid = ?, claim_started = ?
    WHERE id = ? AND status = ? AND coalesce(pid, -1) = coalesce(?, -1) AND coalesce(claim_pid, -1) = coalesce(?, -1))sql");
  update.bind_all(core::now_iso8601(), core::host_name(), self, core::process_start_id(self), id, to_text(status), pid,
                  claim_pid);
  update.run();
  return m_db->changes() == 1;
}

void ResultStore::release_claim(std::int64_t id) {
  Statement update(*m_db, "UPDATE runs SET claim_host = NULL, claim_pid = NULL, claim_started = NULL WHERE id = ?");
  update.bind(1, id);
  update.run();
}

std::int64_t ResultStore::upsert_sweep(const std::string& name, const std::string& spec_path,
                                       const std::string& spec_hash) {
  const auto now = core::now_iso8601();
  Statement upsert(*m_db, R"sql(
    INSERT INTO sweeps (name, spec_path, spec_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET spec_path = excluded.spec_path, spec_hash = excluded.spec_hash,
                                     updated_at = excluded.updated_at)sql");
  upsert.bind_all(name, spec_path, spec_hash, now, now);
  upsert.run();
  return *find_sweep(name);
}

std::optional<std::int64_t> ResultStore::find_sweep(const std::string& name) {
  Statement q(*m_db, "SELECT id FROM sweeps WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) {
    return std::nullopt;
  }
  return q.column_int(0);
}

void ResultStore::begin_plan(std::int64_t sweep_id) {
  Statement update(*m_db, "UPDATE sweep_runs SET planned = 0 WHERE sweep_id = ?");
  update.bind(1, sweep_id);
  update.run();
}

void ResultStore::link_sweep_run(std::int64_t sweep_id, std::int64_t run_id, std::int64_t position,
                                 const std::string& label) {
  Statement link(*m_db, R"sql(
    INSERT INTO sweep_runs (sweep_id, run_id, position, label, planned) VALUES (?, ?, ?, ?, 1)
    ON CONFLICT (sweep_id, run_id) DO UPDATE SET position = excluded.position, label = excluded.label, planned = 1)sql");
  link.bind_all(sweep_id, run_id, position, label);
  link.run();
}

std::vector<SweepRunRow> ResultStore::sweep_runs(std::int64_t sweep_id, const std::string& metric_key) {
  const Metric metric = parse_metric_key(metric_key);
  Statement q(*m_db, R"sql(
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
  std::vector<SweepRunRow> rows;
  while (q.step()) {
    SweepRunRow& row = rows.emplace_back();
    q.read(row.run_id, row.position, row.label, row.status, row.pid, row.host, row.heartbeat_at, row.epochs_done,
           row.attempts, row.metric, row.wall_seconds, row.error, row.slurm, row.planned);
  }
  return rows;
}

void ResultStore::record_attempt(const AttemptRecord& a) {
  Statement insert(*m_db, R"sql(
    INSERT INTO attempts (run_id, sweep_id, started_at, ended_at, seconds, slot, exit_code, signal, outcome,
                          stderr_tail)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
  insert.bind_all(a.run_id, a.sweep_id, a.started_at, core::now_iso8601(), a.seconds, a.slot, a.exit_code, a.signal,
                  std::string(to_text(a.outcome)), a.stderr_tail);
  insert.run();
}

std::int64_t ResultStore::attempt_count(std::int64_t run_id) {
  Statement q(*m_db, "SELECT count(*) FROM attempts WHERE run_id = ?");
  q.bind(1, run_id);
  q.step();
  return q.column_int(0);
}

void ResultStore::record_slurm_array(std::int64_t array_job_id, std::optional<std::int64_t> sweep_id,
                                     const std::string& script, const std::vector<std::int64_t>& run_ids) {
  Transaction tx(*m_db);
  Statement insert(*m_db, R"sql(
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

std::vector<SlurmTaskRow> ResultStore::open_slurm_tasks(std::optional<std::int64_t> sweep_id) {
  Statement q(*m_db, R"sql(
    SELECT id, array_job_id, task_index, run_id, submitted_at, state, coalesce(started_at, '')
    FROM slurm_tasks WHERE outcome IS NULL AND (? IS NULL OR sweep_id = ?) ORDER BY id)sql");
  q.bind_all(sweep_id, sweep_id);
  std::vector<SlurmTaskRow> rows;
  while (q.step()) {
    rows.push_back({q.column_int(0), q.column_int(1), q.column_int(2), q.column_int(3), q.column_text(4),
                    q.column_text(5), q.column_text(6)});
  }
  return rows;
}

void ResultStore::update_slurm_task(std::int64_t id, const std::string& state, bool started) {
  Statement update(*m_db, R"sql(
    UPDATE slurm_tasks SET state = ?, started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END
    WHERE id = ?)sql");
  update.bind_all(state, static_cast<std::int64_t>(started), core::now_iso8601(), id);
  update.run();
}

void ResultStore::settle_slurm_task(std::int64_t id, const std::string& state, AttemptOutcome outcome) {
  Statement update(*m_db, "UPDATE slurm_tasks SET state = ?, outcome = ?, ended_at = ? WHERE id = ?");
  update.bind_all(state, std::string(to_text(outcome)), core::now_iso8601(), id);
  update.run();
}

} // namespace moexp::store
