import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docebo } from '../activities/lms';
import { ensureReconciliationSchedule, NIGHTLY_SCHEDULE_ID } from '../client/reconcile';
import { addDays, isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import type { ReconciliationReport } from '../domain/reconciliation';
import { desiredLmsState, planChanges } from '../domain/plan';
import { bambooRecord, contractorProfile, employeeProfile, hireEvent, SAMPLE_HIRES } from '../simulators/roster';
import { decideUpdate, pendingApprovalQuery } from '../workflows/definitions';
import { eventually, organisation, runHrsync, stackEnvironment, startTestStack, type TestStack } from './support/stack';
import { sampleOrganisationFile } from './support/organisation-file';

// Nightly reconciliation against deliberately injected drift: the dry run reports it and changes
// nothing; the real run fixes it through the employee workflows and leaves to a person what only
// a person can decide; a night that would close too many accounts waits for approval.

const dir = mkdtempSync(join(tmpdir(), 'hrsync-reconcile-'));
const organisationPath = sampleOrganisationFile(dir, (raw) => {
  raw.approvals.bulkDeactivationThreshold = 2;
});

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ organisationPath });
});
afterAll(async () => stack?.stop());

const today = () => isoDateOf(new Date());
const person = (i: number, prefix: string, overrides: Partial<EmployeeProfile> = {}) => ({ ...employeeProfile(i, SAMPLE_HIRES[i % 12]!, addDays(today(), -30), prefix), ...overrides });
async function hired(p: EmployeeProfile) {
  stack.hris.upsertEmployee(bambooRecord(p));
  const event = hireEvent(p);
  await stack.postEvent(event);
  await stack.resultOf(`onboarding-${p.id}-${event.id}`);
}
const reconcile = async (...args: string[]) => {
  const res = await runHrsync(stackEnvironment(stack, dir), 'reconcile', ...args, '--json');
  if (res.code !== 0) throw new Error(`hrsync reconcile failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as ReconciliationReport;
};
const inSync = async (p: EmployeeProfile, terminationDate?: string) => {
  const desired = desiredLmsState({ ...p, terminationDate: terminationDate ?? null, accessGroups: [] }, organisation, new Date().toISOString());
  return planChanges(desired, await docebo(stack.config.lms).findLearner(p.id)).length === 0;
};

describe('reconciliation', () => {
  const a = person(0, 'RC');
  const b = person(1, 'RC');
  const c = person(2, 'RC');
  const d = person(3, 'RC');
  // A process supervisor: re-making their missing account is held like their hire would have been (not at all).
  const e = person(13, 'RC');
  const g = person(5, 'RC', { jobCode: 'MYSTERY-9', jobTitle: 'Mystery role' });
  const h = contractorProfile('RC9001', 'BAY', 'CTR-MNT', addDays(today(), -60), addDays(today(), -1));

  it('the dry run reports every kind of drift and what needs a person, and changes nothing', async () => {
    for (const p of [a, b, c, d]) await hired(p);
    stack.lms.tamper(a.id, { removeGroup: 'dept-operations' });
    stack.lms.tamper(b.id, { removeCourse: 'EHS-101' });
    stack.hris.upsertEmployee(bambooRecord(c, today())); // terminated in the HRIS; no event ever came
    stack.lms.tamper(d.id, { status: 0 }); // someone deactivated the account by hand
    stack.hris.upsertEmployee(bambooRecord(e)); // in the HRIS, never announced
    stack.hris.upsertEmployee(bambooRecord(g));
    stack.hris.upsertEmployee(bambooRecord(h)); // a contractor whose contract ended yesterday…
    stack.lms.importLearners([
      { externalId: h.id, username: h.email, branch: 'BR-BAY' }, // …still with an active account
      { externalId: 'ORPHAN-1', username: 'orphan@example.com' }, // an account the HRIS does not know
    ]);
    const before = JSON.stringify(stack.lms.snapshot().users);

    const report = await reconcile('--dry-run');
    expect(report.dryRun).toBe(true);
    const kinds = Object.fromEntries(report.drift.map((x) => [x.employeeId, x.kinds]));
    expect(kinds[a.id]).toEqual(['wrong-groups']);
    expect(kinds[b.id]).toEqual(['missing-enrollments']);
    expect(kinds[c.id]).toEqual(['active-after-separation']);
    expect(kinds[d.id]).toEqual(['inactive-account']);
    expect(kinds[e.id]).toEqual(['missing-account']);
    expect(kinds[h.id]).toEqual(['active-after-separation']);
    expect(report.needsHuman.map((x) => [x.employeeId, x.reason])).toEqual([
      ['ORPHAN-1', 'not-in-hris'],
      [g.id, 'unknown-job-code'],
    ]);
    expect(report.fixRequested).toEqual([]);
    expect(JSON.stringify(stack.lms.snapshot().users)).toBe(before);
  });

  it('the real run fixes the drift through the employee workflows and records the exception report', async () => {
    const report = await reconcile();
    expect(report.bulkDeactivation).toMatchObject({ count: 2, threshold: 2, decision: 'not-needed' });
    expect(report.fixRequested.sort()).toEqual([a.id, b.id, c.id, d.id, e.id, h.id].sort());
    for (const [p, term] of [[a], [b], [c, today()], [d], [e]] as [EmployeeProfile, string?][]) {
      await eventually(() => inSync(p, term), `${p.id} back in line`);
    }
    await eventually(async () => (await docebo(stack.config.lms).findLearner(h.id))?.active === false, 'the stale contractor closed');
    const fix = await stack.resultOf<{ outcome: string }>(`reconcileEmployee-${a.id}-${report.runId}`);
    expect(fix.outcome).toBe('applied');
    const stored = await stack.pool.query('SELECT dry_run, checked, drift, needs_human FROM reconciliation_runs WHERE run_id = $1', [report.runId]);
    expect(stored.rows[0]).toMatchObject({ dry_run: false, drift: 6, needs_human: 2 });
    expect(await docebo(stack.config.lms).findLearner('ORPHAN-1')).toMatchObject({ active: true }); // left for a person
    const again = await reconcile('--dry-run');
    expect(again.drift).toEqual([]);
  }, 240_000);

  it('a night that would close more accounts than allowed waits for a bulk-deactivation approval', async () => {
    const leavers = [person(6, 'RB'), person(7, 'RB'), person(8, 'RB')];
    for (const p of leavers) await hired(p);
    for (const p of leavers) stack.hris.upsertEmployee(bambooRecord(p, today()));
    const handle = await stack.client.workflow.start('reconciliation', { workflowId: `reconciliation-bulk-${Date.now()}`, taskQueue: stack.taskQueue, args: [{}] });
    const pending = await eventually(() => handle.query(pendingApprovalQuery).catch(() => null), 'the bulk-deactivation approval');
    expect(pending).toMatchObject({ kind: 'bulk-deactivation', approvers: ['hr.director', 'it.security'] });
    expect(pending.reasons[0]).toMatch(/3 accounts would be deactivated at once \(more than 2\)/);
    expect(stack.learnersFor(leavers[0]!.id)[0]!.status).toBe('1');
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'hr.director', reason: 'the site closure' }] });
    const report = (await handle.result()) as ReconciliationReport;
    expect(report.bulkDeactivation).toMatchObject({ count: 3, decision: 'approved' });
    for (const p of leavers) await eventually(() => stack.learnersFor(p.id)[0]!.status === '0', `${p.id} closed`);
  }, 240_000);

  it('keeps one nightly schedule, created once and updated in place', async () => {
    expect(await ensureReconciliationSchedule(stack.client, stack.taskQueue, '0 3 * * *')).toMatch(/created|updated/);
    expect(await ensureReconciliationSchedule(stack.client, stack.taskQueue, '30 1 * * *')).toBe('updated');
    const schedule = await stack.client.schedule.getHandle(NIGHTLY_SCHEDULE_ID).describe();
    expect(schedule.spec.calendars?.length ?? schedule.spec.intervals?.length ?? 0).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(schedule.spec)).toMatch(/"minute":\[\{"start":30/);
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconciliation', taskQueue: stack.taskQueue });
  });

  it('reads a large roster in pages and reports progress (1,500 people, dry run)', async () => {
    const many: EmployeeProfile[] = [];
    for (let i = 0; i < 1500; i++) many.push({ ...employeeProfile(i, SAMPLE_HIRES[i % 12]!, addDays(today(), -90), 'BIG'), id: `BIG${String(i).padStart(5, '0')}` });
    for (const p of many) stack.hris.upsertEmployee(bambooRecord(p));
    // Already in the LMS exactly as desired, as an earlier migration would have left them.
    stack.lms.importLearners(
      many.map((p) => {
        const desired = desiredLmsState({ ...p, accessGroups: [] }, organisation, new Date().toISOString());
        return { externalId: p.id, username: desired.account.username, firstName: p.firstName, lastName: p.lastName, role: desired.account.role, branch: desired.branch, groups: desired.groups, courses: desired.enrollments.map((x) => ({ code: x.courseId, dueDate: x.dueDate })) };
      }),
    );
    const started = Date.now();
    const report = await reconcile('--dry-run');
    const seconds = (Date.now() - started) / 1000;
    expect(report.checked).toBeGreaterThanOrEqual(1500);
    expect(report.drift.filter((x) => x.employeeId.startsWith('BIG'))).toEqual([]);
    console.log(`reconciliation dry run over ${report.checked} people: ${seconds.toFixed(1)} s`);
  }, 300_000);
});
