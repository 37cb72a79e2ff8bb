import type pg from 'pg';
import type { AuditEntry, AuditRecord } from '../domain/audit';

// The audit trail and the intake tables in PostgreSQL.

export interface AuditStore {
  record(entries: AuditEntry[]): Promise<number>;
  forEmployee(employeeId: string, limit?: number): Promise<AuditRecord[]>;
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
          e.step === undefined ? null : JSON.stringify(e.step),
          e.result,
          e.detail === undefined ? null : JSON.stringify(e.detail),
          e.idempotencyKey ?? null,
        );
        return `(${cols.map((_, j) => `$${i * cols.length + j + 1}`).join(', ')})`;
      });
      const res = await pool.query(
        `INSERT INTO audit_log (${cols.join(', ')}) VALUES ${rows.join(', ')} ON CONFLICT (idempotency_key) DO NOTHING`,
        values,
      );
      return res.rowCount ?? 0;
    },

    async forEmployee(employeeId, limit = 1000) {
      const res = await pool.query(
        `SELECT * FROM (SELECT * FROM audit_log WHERE employee_id = $1 ORDER BY id DESC LIMIT $2) latest ORDER BY id`,
        [employeeId, limit],
      );
      return res.rows.map((r) => ({
        id: Number(r.id),
        recordedAt: (r.recorded_at as Date).toISOString(),
        employeeId: r.employee_id,
        eventId: r.event_id,
        workflowId: r.workflow_id,
        runId: r.run_id,
        kind: r.kind,
        action: r.action,
        step: r.step ?? undefined,
        result: r.result,
        detail: r.detail ?? undefined,
        idempotencyKey: r.idempotency_key,
      }));
    },
  };
}

export function auditActivities(store: AuditStore) {
  return {
    /** Writes audit rows; rows with an idempotency key land once however often this is retried. */
    async recordAudit(entries: AuditEntry[]): Promise<number> {
      return store.record(entries);
    },
  };
}
