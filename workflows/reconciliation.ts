import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { countByKind, type Drift, type NeedsHuman, type ReconciliationReport } from '../domain/reconciliation';
import { activities } from './activities';
import { approvalDesk } from './approval';
import { reconciliationProgressQuery, type ReconciliationProgress } from './definitions';
import { now, syncLearnerWithHr, type SyncResult } from './learner-sync';
import { closeOutSeparation } from './offboarding';

const { readOrganisation } = activities;
// Reading and assessing thousands of people takes minutes: long timeouts, kept alive by heartbeats.
const { collectRoster, assessPage, requestFixes, saveReconciliationReport } = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface ReconciliationInput {
  dryRun?: boolean;
  /** People assessed per activity (default 250) and pages in flight at once (default 4). */
  pageSize?: number;
  pagesInFlight?: number;
}

/**
 * The nightly reconciliation (a Temporal Schedule starts it; `hrsync reconcile` too): every
 * person the HRIS or the LMS knows is assessed against the desired state, page by page; the fixes
 * are handed to each employee's workflow; a night that would close more accounts than the
 * organisation allows waits for a bulk-deactivation approval; the exception report says what was
 * fixed and what needs a person.
 */
export async function reconciliation(input: ReconciliationInput = {}): Promise<ReconciliationReport> {
  const desk = approvalDesk();
  const runId = workflowInfo().workflowId;
  const progress: ReconciliationProgress = { phase: 'reading', total: 0, checked: 0, drift: 0, needsHuman: 0 };
  setHandler(reconciliationProgressQuery, () => progress, { description: 'How far the run has got.' });

  const report: ReconciliationReport = {
    runId,
    dryRun: !!input.dryRun,
    startedAt: now(),
    finishedAt: null,
    checked: 0,
    inSync: 0,
    drift: [],
    needsHuman: [],
    fixRequested: [],
    bulkDeactivation: null,
    byKind: {},
  };
  const asOf = now();
  const [organisation, roster] = await Promise.all([readOrganisation(), collectRoster()]);
  progress.total = roster.employeeIds.length;
  progress.phase = 'assessing';

  const pageSize = input.pageSize ?? 250;
  const pages: string[][] = [];
  for (let i = 0; i < roster.employeeIds.length; i += pageSize) pages.push(roster.employeeIds.slice(i, i + pageSize));
  const drift: Drift[] = [];
  const needsHuman: NeedsHuman[] = [];
  let nextPage = 0;
  await Promise.all(
    Array.from({ length: Math.min(input.pagesInFlight ?? 4, pages.length) }, async () => {
      while (nextPage < pages.length) {
        const page = pages[nextPage++]!;
        const result = await assessPage({ employeeIds: page, asOf });
        for (const f of result.findings) {
          if (f.kind === 'drift') drift.push(f.drift);
          else needsHuman.push(f.needsHuman);
        }
        report.inSync += result.inSync;
        progress.checked += page.length;
        progress.drift = drift.length;
        progress.needsHuman = needsHuman.length;
      }
    }),
  );
  report.checked = progress.checked;
  report.drift = drift.sort((a, b) => a.employeeId.localeCompare(b.employeeId));
  report.needsHuman = needsHuman.sort((a, b) => a.employeeId.localeCompare(b.employeeId));
  report.byKind = countByKind(drift);

  if (!input.dryRun && drift.length) {
    let toFix = drift;
    const closing = drift.filter((d) => d.deactivates);
    const threshold = organisation.approvals.bulkDeactivationThreshold;
    if (closing.length > threshold) {
      progress.phase = 'awaiting-approval';
      const outcome = await desk.request({
        kind: 'bulk-deactivation',
        policy: organisation.approvals.kinds['bulk-deactivation']!,
        employeeId: 'all',
        eventId: null,
        subject: `reconciliation ${runId}`,
        reasons: [`${closing.length} accounts would be deactivated at once (more than ${threshold}): ${closing.slice(0, 20).map((d) => d.employeeId).join(', ')}${closing.length > 20 ? ', …' : ''}`],
        plan: closing.map(() => ({ action: 'deactivate_user' as const })),
      });
      report.bulkDeactivation = { count: closing.length, threshold, decision: outcome.decision === 'approve' ? 'approved' : 'rejected' };
      // Rejected: everything else is still fixed; the deactivations wait for a person.
      if (outcome.decision === 'reject') toFix = drift.filter((d) => !d.deactivates);
    } else {
      report.bulkDeactivation = { count: closing.length, threshold, decision: 'not-needed' };
    }
    progress.phase = 'fixing';
    const ids = toFix.map((d) => d.employeeId);
    for (let i = 0; i < ids.length; i += 500) await requestFixes({ employeeIds: ids.slice(i, i + 500), runId });
    report.fixRequested = ids;
  }

  report.finishedAt = now();
  progress.phase = 'done';
  await saveReconciliationReport(report);
  // The full report is in reconciliation_runs; the result stays small however many drifted.
  return { ...report, drift: report.drift.slice(0, 100), needsHuman: report.needsHuman.slice(0, 100), fixRequested: report.fixRequested.slice(0, 100) };
}

/** One person's fix, run by their employee workflow in order with their events. */
export async function reconcileEmployee(input: { employeeId: string; runId: string }): Promise<SyncResult> {
  return syncLearnerWithHr(
    { employeeId: input.employeeId, eventId: null, action: 'reconcile', fallbackProfile: null },
    // A separation found by reconciliation is closed out like any other: records archived, reported.
    { asOf: now(), change: { type: 'change' }, beforeApply: closeOutSeparation },
  );
}
