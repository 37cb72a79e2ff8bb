import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { assess, type Assessment, type ReconciliationReport } from '../domain/reconciliation';
import type { Organisation } from '../domain/organisation';
import { entityWorkflowId, EmployeeIdKey, reconcileSignal } from '../workflows/definitions';
import type { Hris } from './hris';
import type { IntakeDeps } from './intake';
import type { Lms } from './lms';

// Reconciliation reads the whole roster (the HRIS directory and every LMS account), assesses
// people a page at a time with bounded concurrency, and hands the fixes to each employee's
// workflow, where events and fixes for one person stay in order.

/** Runs `task` over `items`, `n` at a time, in order of completion. */
async function eachLimited<T>(items: T[], n: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

export function reconciliationActivities(deps: { hris: Hris; lms: Lms; organisation: () => Organisation; intake: IntakeDeps; pool: pg.Pool }) {
  return {
    /** Everyone either system knows: the HRIS directory and every LMS account's employee id. */
    async collectRoster(): Promise<{ employeeIds: string[]; hris: number; lms: number }> {
      const [hris, lms] = await Promise.all([deps.hris.listEmployeeIds(), deps.lms.listAccounts()]);
      const ids = [...new Set([...hris, ...lms.map((a) => a.externalId)])].sort();
      return { employeeIds: ids, hris: hris.length, lms: lms.length };
    },

    /** Assesses one page of people; returns only what is not in sync (the rest is counted). */
    async assessPage(input: { employeeIds: string[]; asOf: string; concurrency?: number }): Promise<{ inSync: number; findings: Exclude<Assessment, { kind: 'in-sync' }>[] }> {
      const org = deps.organisation();
      const findings: Exclude<Assessment, { kind: 'in-sync' }>[] = [];
      let inSync = 0;
      let done = 0;
      await eachLimited(input.employeeIds, input.concurrency ?? 16, async (employeeId) => {
        let result: Assessment;
        try {
          const [profile, actual] = await Promise.all([deps.hris.getProfile(employeeId), deps.lms.findLearner(employeeId)]);
          result = assess(employeeId, profile, actual, org, input.asOf);
        } catch (err) {
          const e = err as { nonRetryable?: boolean; message: string };
          if (!e.nonRetryable) throw err; // a system down: let Temporal retry the page
          result = { kind: 'needs-human', needsHuman: { employeeId, reason: 'unreadable-hris-record', detail: e.message } };
        }
        if (result.kind === 'in-sync') inSync++;
        else findings.push(result);
        if (++done % 25 === 0) Context.current().heartbeat({ done });
      });
      return { inSync, findings: findings.sort((a, b) => idOf(a).localeCompare(idOf(b))) };
    },

    /** Hands each fix to the employee's workflow (started if it is not running). */
    async requestFixes(input: { employeeIds: string[]; runId: string }): Promise<number> {
      let sent = 0;
      await eachLimited(input.employeeIds, 16, async (employeeId) => {
        await deps.intake.temporal.workflow.signalWithStart('employeeLifecycle', {
          workflowId: entityWorkflowId(employeeId),
          taskQueue: deps.intake.taskQueue,
          args: [{ employeeId }],
          signal: reconcileSignal,
          signalArgs: [{ runId: input.runId }],
          typedSearchAttributes: [{ key: EmployeeIdKey, value: employeeId }],
        });
        sent++;
        if (sent % 50 === 0) Context.current().heartbeat({ sent });
      });
      return sent;
    },

    async saveReconciliationReport(report: ReconciliationReport): Promise<void> {
      await deps.pool.query(
        `INSERT INTO reconciliation_runs (run_id, started_at, finished_at, dry_run, checked, drift, needs_human, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (run_id) DO UPDATE SET finished_at = EXCLUDED.finished_at, checked = EXCLUDED.checked, drift = EXCLUDED.drift, needs_human = EXCLUDED.needs_human, report = EXCLUDED.report`,
        [report.runId, report.startedAt, report.finishedAt, report.dryRun, report.checked, report.drift.length, report.needsHuman.length, JSON.stringify(report)],
      );
    },
  };
}

const idOf = (a: Exclude<Assessment, { kind: 'in-sync' }>) => (a.kind === 'drift' ? a.drift.employeeId : a.needsHuman.employeeId);
