import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import type pg from 'pg';
import type { ReconciliationReport } from '../domain/reconciliation';
import { reconciliationProgressQuery } from '../workflows/definitions';

// Reconciliation from the outside: `hrsync reconcile` runs one and shows its progress; the
// worker keeps a nightly Temporal Schedule of it.

export const NIGHTLY_SCHEDULE_ID = 'hrsync-nightly-reconciliation';
export const DEFAULT_RECONCILE_CRON = '0 2 * * *';

/** Creates a Temporal Schedule, or brings an existing one to this cron and action; safe on every start. */
export async function ensureSchedule(
  temporal: Client,
  schedule: { scheduleId: string; cron: string; workflowType: string; workflowId: string; taskQueue: string; args: unknown[]; summary: string },
): Promise<'created' | 'updated'> {
  const spec = { cronExpressions: [schedule.cron] };
  const action = { type: 'startWorkflow' as const, workflowType: schedule.workflowType, taskQueue: schedule.taskQueue, args: schedule.args, workflowId: schedule.workflowId };
  try {
    await temporal.schedule.create({ scheduleId: schedule.scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' }, memo: { summary: schedule.summary } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await temporal.schedule.getHandle(schedule.scheduleId).update((previous) => ({ ...previous, spec, action }));
    return 'updated';
  }
}

/** The nightly reconciliation's schedule. */
export function ensureReconciliationSchedule(temporal: Client, taskQueue: string, cron = DEFAULT_RECONCILE_CRON) {
  return ensureSchedule(temporal, {
    scheduleId: NIGHTLY_SCHEDULE_ID,
    cron,
    workflowType: 'reconciliation',
    workflowId: 'reconciliation-nightly',
    taskQueue,
    args: [{ dryRun: false }],
    summary: 'HRIS roster against the LMS, every night; drift fixed through the employee workflows',
  });
}

export const COMPLETION_POLL_SCHEDULE_ID = 'hrsync-completion-poll';

/** The completion poller's schedule, for LMSs without webhooks (harmless beside them: completions are taken once). */
export function ensureCompletionPollSchedule(temporal: Client, taskQueue: string, cron: string) {
  return ensureSchedule(temporal, {
    scheduleId: COMPLETION_POLL_SCHEDULE_ID,
    cron,
    workflowType: 'completionPoll',
    workflowId: 'completion-poll',
    taskQueue,
    args: [{}],
    summary: 'Completions recorded in the LMS since the last poll become training records, skills and renewals',
  });
}

/** Runs a reconciliation and waits for it, drawing its progress on stderr. */
export async function runReconciliation(temporal: Client, pool: pg.Pool, taskQueue: string, options: { dryRun: boolean; showProgress: boolean }): Promise<ReconciliationReport> {
  const workflowId = `reconciliation-${options.dryRun ? 'dry-run-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const handle = await temporal.workflow.start('reconciliation', { workflowId, taskQueue, args: [{ dryRun: options.dryRun }] });
  const bar = options.showProgress ? new SingleBar({ format: 'reconciling {bar} {value}/{total} people | {phase} | drift {drift} | for a person {needsHuman}', stream: process.stderr, hideCursor: true }) : null;
  let started = false;
  const timer = setInterval(async () => {
    const p = await handle.query(reconciliationProgressQuery).catch(() => null);
    if (!p || !bar) return;
    if (!started && p.total) {
      bar.start(p.total, 0, { phase: p.phase, drift: 0, needsHuman: 0 });
      started = true;
    }
    if (started) bar.update(p.checked, { phase: p.phase, drift: p.drift, needsHuman: p.needsHuman });
  }, 300);
  try {
    await handle.result();
  } finally {
    clearInterval(timer);
    if (started) bar!.stop();
  }
  const stored = await pool.query('SELECT report FROM reconciliation_runs WHERE run_id = $1', [workflowId]);
  return stored.rows[0].report as ReconciliationReport;
}
