// The nightly reconciliation at scale: N people (default 10,000) in the HRIS simulator and the LMS
// simulator, with known drift injected, on a throwaway stack (in-memory Temporal dev server, a
// fresh database on the PostgreSQL at DATABASE_URL, the worker in this process). Prints how long
// the dry run and the real run take, what they found against what was injected, and how long the
// employee workflows take to close the drift.
//
//   npm run bench:reconcile              # 10,000 people
//   npm run bench:reconcile -- 2000      # fewer
//
// Exits non-zero if what was found is not what was injected, or the drift does not close.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { docebo } from '../activities/lms';
import { runReconciliation } from '../client/reconcile';
import { addDays, isoDateOf } from '../domain/dates';
import type { EmployeeProfile, HrProfile } from '../domain/hr-event';
import { loadOrganisation } from '../domain/load-organisation';
import { desiredLmsState, planChanges } from '../domain/plan';
import type { DriftKind, ReconciliationReport } from '../domain/reconciliation';
import { bambooRecord, contractorProfile, employeeProfile, SAMPLE_HIRES } from '../simulators/roster';
import { createPool, dropDatabase, ensureDatabase } from '../stack/database';
import { decideUpdate, pendingApprovalQuery } from '../workflows/definitions';

Runtime.install({ logger: new DefaultLogger('WARN') });
process.env.LOG_LEVEL ??= 'warn';

const people = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(people) || people < 500) throw new Error(`the number of people must be a whole number of at least 500, not "${process.argv[2]}"`);

const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

// What is injected, by kind: the reconciliation must find exactly this.
const INJECTED = { 'missing-account': 50, 'wrong-groups': 100, 'missing-enrollments': 100, leavers: 40, 'stale-contractors': 10, 'not-in-hris': 10 };

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseName = `hrsync_bench_${Date.now()}`;
process.env.DATABASE_URL = await ensureDatabase(adminUrl, databaseName);
const { startLocalStack } = await import('../stack/local');
const stack = await startLocalStack({ ephemeral: true });
const pool = createPool(process.env.DATABASE_URL);
let failed = false;
const check = (ok: boolean, what: string) => {
  if (!ok) failed = true;
  say(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

try {
  const org = loadOrganisation();
  const hris = stack.hrisSimulator!;
  const lms = stack.lmsSimulator!;
  const today = isoDateOf(new Date());
  const now = new Date().toISOString();
  const monthAgo = `${addDays(today, -30)}T12:00:00Z`;

  // The roster: employees across the sample's job codes, and a few contractors whose contracts ran out yesterday.
  const roster: EmployeeProfile[] = [];
  for (let i = 0; i < people - INJECTED['stale-contractors']; i++) {
    roster.push({ ...employeeProfile(i, SAMPLE_HIRES[i % SAMPLE_HIRES.length]!, addDays(today, -90), 'B'), id: `B${String(i).padStart(6, '0')}` });
  }
  for (let i = 0; i < INJECTED['stale-contractors']; i++) roster.push(contractorProfile(`BC${String(i).padStart(5, '0')}`, 'BAY', 'CTR-MNT', addDays(today, -90), addDays(today, -1)));

  const ranges = {
    missingAccount: roster.slice(0, 50),
    wrongGroups: roster.slice(50, 150),
    missingEnrollments: roster.slice(150, 250),
    leavers: roster.slice(250, 290),
    contractors: roster.slice(-INJECTED['stale-contractors']),
  };
  const yesterday = addDays(today, -1);
  const left = new Set(ranges.leavers.map((p) => p.id));
  for (const p of roster) hris.upsertEmployee(bambooRecord(p, left.has(p.id) ? yesterday : undefined));

  // The LMS as last night left it: everyone as desired before they left or their contract ended, then the drift.
  const missing = new Set(ranges.missingAccount.map((p) => p.id));
  const dropGroup = new Set(ranges.wrongGroups.map((p) => p.id));
  const dropCourse = new Set(ranges.missingEnrollments.map((p) => p.id));
  const learners = roster
    .filter((p) => !missing.has(p.id))
    .map((p) => {
      const desired = desiredLmsState({ ...p, accessGroups: [] } as HrProfile, org, p.contract ? monthAgo : now);
      return {
        externalId: p.id,
        username: desired.account.username,
        firstName: p.firstName,
        lastName: p.lastName,
        role: desired.account.role,
        branch: desired.branch,
        groups: dropGroup.has(p.id) ? desired.groups.slice(1) : desired.groups,
        courses: (dropCourse.has(p.id) ? desired.enrollments.slice(1) : desired.enrollments).map((x) => ({ code: x.courseId, dueDate: x.dueDate })),
      };
    });
  for (let i = 0; i < INJECTED['not-in-hris']; i++) learners.push({ externalId: `GHOST${i}`, username: `ghost${i}`, firstName: 'Former', lastName: 'Admin', role: null, branch: null, groups: [], courses: [] } as never);
  lms.importLearners(learners);
  say(`hrsync reconciliation benchmark: ${roster.length} people in the HRIS, ${learners.length} accounts in the LMS (${new Date().toISOString()})`);
  say(`  injected: ${Object.entries(INJECTED).map(([k, n]) => `${n} ${k}`).join(', ')}`);

  const counts = (r: ReconciliationReport, kind: DriftKind) => r.drift.filter((d) => d.kinds.includes(kind)).length;
  const expectFindings = (r: ReconciliationReport) => {
    check(counts(r, 'missing-account') === INJECTED['missing-account'], `missing accounts: ${counts(r, 'missing-account')}`);
    check(counts(r, 'wrong-groups') === INJECTED['wrong-groups'], `wrong groups: ${counts(r, 'wrong-groups')}`);
    check(counts(r, 'missing-enrollments') === INJECTED['missing-enrollments'], `missing enrollments: ${counts(r, 'missing-enrollments')}`);
    const separations = INJECTED.leavers + INJECTED['stale-contractors'];
    check(counts(r, 'active-after-separation') === separations, `active after a separation (leavers and ended contracts): ${counts(r, 'active-after-separation')}`);
    check(r.needsHuman.filter((h) => h.reason === 'not-in-hris').length === INJECTED['not-in-hris'], `LMS accounts the HRIS does not know, for a person: ${r.needsHuman.length}`);
    check(r.drift.length === 300, `people drifted: ${r.drift.length} (300 injected)`);
  };

  // 1. The dry run, as `hrsync reconcile --dry-run` runs it.
  let started = Date.now();
  const dry = await runReconciliation(stack.temporal, pool, stack.config.taskQueue, { dryRun: true, showProgress: process.stderr.isTTY === true });
  const dryTook = Date.now() - started;
  say(`\n1. dry run: ${dry.checked} people checked in ${seconds(started)} (${Math.round(dry.checked / (dryTook / 1000))} people/s)`);
  expectFindings(dry);
  const lmsRequestsAfterDry = lms.stats.requests;

  // 2. The real run: more leavers than the organisation allows at once, so it waits for a bulk-deactivation approval.
  started = Date.now();
  const handle = await stack.temporal.workflow.start('reconciliation', { workflowId: `reconciliation-bench-${Date.now()}`, taskQueue: stack.config.taskQueue, args: [{}] });
  let pending = null;
  while (!(pending = await handle.query(pendingApprovalQuery).catch(() => null))) await new Promise((r) => setTimeout(r, 200));
  const assessed = Date.now() - started;
  await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'hr.director', reason: 'benchmark' }] });
  await handle.result();
  const real = (await pool.query('SELECT report FROM reconciliation_runs WHERE run_id = $1', [handle.workflowId])).rows[0].report as ReconciliationReport;
  say(`\n2. real run: assessed in ${(assessed / 1000).toFixed(1)} s, waited for the bulk-deactivation approval (${pending.kind}), fixes handed over after ${seconds(started)}`);
  expectFindings(real);
  check(real.bulkDeactivation?.decision === 'approved' && real.fixRequested.length === 300, `bulk deactivation of ${real.bulkDeactivation?.count}: ${real.bulkDeactivation?.decision}; fixes requested: ${real.fixRequested.length}`);

  // 3. The employee workflows close the drift.
  const lmsPort = docebo(stack.config.lms);
  const profiles = new Map(roster.map((p) => [p.id, p]));
  const open = new Set(real.fixRequested);
  while (open.size && Date.now() - started < 600_000) {
    for (const id of [...open]) {
      const p = profiles.get(id)!;
      const desired = desiredLmsState({ ...p, terminationDate: left.has(id) ? yesterday : null, accessGroups: [] } as HrProfile, org, new Date().toISOString());
      if (planChanges(desired, await lmsPort.findLearner(id)).length === 0) open.delete(id);
    }
    if (open.size) await new Promise((r) => setTimeout(r, 1000));
  }
  say(`\n3. drift closed through the employee workflows: ${real.fixRequested.length - open.size}/${real.fixRequested.length} people in sync ${seconds(started)} after the run started`);
  check(open.size === 0, `every drifted person now matches the desired state${open.size ? ` (still open: ${[...open].slice(0, 5).join(', ')})` : ''}`);

  started = Date.now();
  const after = await runReconciliation(stack.temporal, pool, stack.config.taskQueue, { dryRun: true, showProgress: false });
  say(`\n4. dry run again: ${after.checked} checked in ${seconds(started)}: ${after.drift.length} drifted, ${after.needsHuman.length} for a person`);
  check(after.drift.length === 0, 'no drift left');
  say(`\nLMS requests: ${lmsRequestsAfterDry} for the first dry run (${(lmsRequestsAfterDry / dry.checked).toFixed(2)} per person), ${lms.stats.requests} in all`);
} finally {
  await pool.end();
  await stack.stop();
  await dropDatabase(adminUrl, databaseName);
}
say(failed ? '\nFAILED: see above' : '\nall checks passed');
process.exit(failed ? 1 : 0);
