import type pg from 'pg';
import type { AuditEntry, AuditRecord } from '../domain/audit';
import type { ArchivedRecord } from '../domain/lifecycle';
import { logger } from '../stack/logger';
import { workerMetrics } from '../stack/metrics';
import { storableJson } from './intake';

// What hrsync itself keeps in PostgreSQL: the audit trail, archived training records, the
// identity-provider groups people were granted, and the outbox of notifications.

export interface Notification {
  recipientId: string | null;
  aboutEmployee: string;
  kind: string;
  subject: string;
  detail?: unknown;
  idempotencyKey: string;
}

export interface AuditStore {
  record(entries: AuditEntry[]): Promise<number>;
  forEmployee(employeeId: string, limit?: number): Promise<AuditRecord[]>;
  /** The most recent audit row of this kind and action for the person, if any. */
  latest(employeeId: string, kind: string, action: string): Promise<AuditRecord | null>;
  archiveTrainingRecords(employeeId: string, separatedOn: string, workflowId: string, records: ArchivedRecord[]): Promise<number>;
  archiveOf(employeeId: string): Promise<(ArchivedRecord & { separatedOn: string })[]>;
  grantAccess(employeeId: string, group: string, eventId: string): Promise<void>;
  accessGroupsOf(employeeId: string): Promise<string[]>;
  queueNotification(notification: Notification): Promise<void>;
}

function auditRecord(r: Record<string, unknown>): AuditRecord {
  return {
    id: Number(r.id),
    recordedAt: (r.recorded_at as Date).toISOString(),
    employeeId: r.employee_id as string,
    eventId: r.event_id as string | null,
    workflowId: r.workflow_id as string | null,
    runId: r.run_id as string | null,
    kind: r.kind as AuditRecord['kind'],
    action: r.action as string,
    step: r.step ?? undefined,
    result: r.result as string,
    detail: r.detail ?? undefined,
    idempotencyKey: r.idempotency_key as string | null,
  };
}

/**
 * Metrics of the outcome rows an insert actually wrote (a retried write that lands nothing counts
 * nothing): workflows by outcome, and for an applied event the time since the bridge received it.
 */
async function observeOutcomes(pool: pg.Pool, inserted: { kind: string; action: string; result: string; event_id: string | null; workflow_id: string | null }[]): Promise<void> {
  const outcomes = inserted.filter((r) => r.kind === 'outcome');
  for (const r of outcomes) workerMetrics.workflowsCompleted.inc({ workflow: r.action, outcome: r.result });
  const applied = outcomes.filter((r) => r.result === 'applied' && r.event_id);
  if (!applied.length) return;
  try {
    const res = await pool.query(`SELECT event_id, extract(epoch FROM now() - received_at)::float8 AS seconds FROM hr_events WHERE event_id = ANY($1)`, [applied.map((r) => r.event_id)]);
    const seconds = new Map(res.rows.map((r) => [r.event_id as string, Number(r.seconds)]));
    for (const r of applied) {
      const s = seconds.get(r.event_id!);
      if (s !== undefined) workerMetrics.eventToLms.observe({ workflow: r.action }, Math.max(s, 0));
    }
  } catch (err) {
    // The audit rows are written; a metric is not worth failing (and retrying) the activity for.
    logger.warn({ workflowId: applied[0]!.workflow_id, err: (err as Error).message }, 'could not measure the time from HR event to LMS action');
  }
}

export function postgresAuditStore(pool: pg.Pool): AuditStore {
  return {
    async record(entries) {
      if (!entries.length) return 0;
      const cols = ['employee_id', 'event_id', 'workflow_id', 'run_id', 'kind', 'action', 'step', 'result', 'detail', 'idempotency_key'];
      const values: unknown[] = [];
      const rows = entries.map((e, i) => {
        values.push(
          e.employeeId,
          e.eventId ?? null,
          e.workflowId ?? null,
          e.runId ?? null,
          e.kind,
          e.action,
          e.step === undefined ? null : storableJson(e.step),
          e.result,
          e.detail === undefined ? null : storableJson(e.detail),
          e.idempotencyKey ?? null,
        );
        return `(${cols.map((_, j) => `$${i * cols.length + j + 1}`).join(', ')})`;
      });
      const res = await pool.query(
        `INSERT INTO audit_log (${cols.join(', ')}) VALUES ${rows.join(', ')} ON CONFLICT (idempotency_key) DO NOTHING RETURNING kind, action, result, event_id, workflow_id`,
        values,
      );
      await observeOutcomes(pool, res.rows);
      return res.rowCount ?? 0;
    },

    async forEmployee(employeeId, limit = 1000) {
      const res = await pool.query(
        `SELECT * FROM (SELECT * FROM audit_log WHERE employee_id = $1 ORDER BY id DESC LIMIT $2) latest ORDER BY id`,
        [employeeId, limit],
      );
      return res.rows.map(auditRecord);
    },

    async latest(employeeId, kind, action) {
      const res = await pool.query(`SELECT * FROM audit_log WHERE employee_id = $1 AND kind = $2 AND action = $3 ORDER BY id DESC LIMIT 1`, [employeeId, kind, action]);
      return res.rows[0] ? auditRecord(res.rows[0]) : null;
    },

    async archiveTrainingRecords(employeeId, separatedOn, workflowId, records) {
      let stored = 0;
      for (const r of records) {
        const res = await pool.query(
          `INSERT INTO training_archive (employee_id, course_id, separated_on, status, completed_at, due_date, retention_until, workflow_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (employee_id, course_id, separated_on) DO NOTHING`,
          [employeeId, r.courseId, separatedOn, r.status, r.completedAt, r.dueDate, r.retentionUntil, workflowId],
        );
        stored += res.rowCount ?? 0;
      }
      return stored;
    },

    async archiveOf(employeeId) {
      const res = await pool.query(
        `SELECT course_id, to_char(separated_on, 'YYYY-MM-DD') AS separated_on, status, completed_at, to_char(due_date, 'YYYY-MM-DD') AS due_date,
                to_char(retention_until, 'YYYY-MM-DD') AS retention_until
           FROM training_archive WHERE employee_id = $1 ORDER BY separated_on, course_id`,
        [employeeId],
      );
      return res.rows.map((r) => ({
        courseId: r.course_id,
        separatedOn: r.separated_on,
        status: r.status,
        completedAt: r.completed_at,
        dueDate: r.due_date,
        retentionUntil: r.retention_until,
      }));
    },

    async grantAccess(employeeId, group, eventId) {
      await pool.query(
        `INSERT INTO access_grants (employee_id, group_name, event_id) VALUES ($1, $2, $3) ON CONFLICT (employee_id, group_name) DO NOTHING`,
        [employeeId, group, eventId],
      );
    },

    async accessGroupsOf(employeeId) {
      const res = await pool.query(`SELECT group_name FROM access_grants WHERE employee_id = $1 ORDER BY group_name`, [employeeId]);
      return res.rows.map((r) => r.group_name as string);
    },

    async queueNotification(n) {
      await pool.query(
        `INSERT INTO notifications (recipient_id, about_employee, kind, subject, detail, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [n.recipientId, n.aboutEmployee, n.kind, n.subject, n.detail === undefined ? null : JSON.stringify(n.detail), n.idempotencyKey],
      );
    },
  };
}

export function auditActivities(store: AuditStore) {
  return {
    /** Writes audit rows; rows with an idempotency key land once however often this is retried. */
    async recordAudit(entries: AuditEntry[]): Promise<number> {
      return store.record(entries);
    },
    async archiveTrainingRecords(input: { employeeId: string; separatedOn: string; workflowId: string; records: ArchivedRecord[] }): Promise<number> {
      return store.archiveTrainingRecords(input.employeeId, input.separatedOn, input.workflowId, input.records);
    },
    async recordAccessGrant(input: { employeeId: string; group: string; eventId: string }): Promise<void> {
      return store.grantAccess(input.employeeId, input.group, input.eventId);
    },
    async readAccessGroups(employeeId: string): Promise<string[]> {
      return store.accessGroupsOf(employeeId);
    },
    /** Puts a message in the outbox once, however often this is retried. */
    async notify(notification: Notification): Promise<void> {
      return store.queueNotification(notification);
    },
  };
}
