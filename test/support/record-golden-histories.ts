// Records the golden histories that CI replays (test/replay.test.ts): real runs of every workflow
// type, including ones that waited on approvals, timers and a supersession, exported as
// `temporal workflow show -o json` would. Run it when a workflow changes on purpose (and guard the
// change with patched()):
//
//   npx tsx test/support/record-golden-histories.ts v3-what-changed [type,type]   # writes test/golden-histories/v3-what-changed/
//   (with a list of workflow types, only their histories are kept)
//
// Keep the earlier folders: they are the histories of workflows that may still be running. In the
// new folder keep the histories of the workflow types the change touched (and any new type); the
// rest would duplicate an earlier folder.
//
// It starts its own throwaway stack (in-memory Temporal dev server, a throwaway embedded
// PostgreSQL whatever DATABASE_URL says, so that a second recording starts from nothing, the
// simulators), with an organisation whose leadership approvals run on a clock of seconds.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sampleOrganisationFile } from './organisation-file';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { spawnSync } from 'node:child_process';
import { findTemporalCli } from '../../stack/temporal';
import { identityWorkflowId } from '../../client/okta-hooks';
import { signEvent } from '../../client/signing';
import { resultWhenStarted } from '../../client/results';
import { isoDateOf } from '../../domain/dates';
import type { HrEvent } from '../../domain/hr-event';
import { bambooRecord, contractorProfile, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../../simulators/roster';
import { completionKey, monthsAfter } from '../../domain/learning';
import { decideUpdate, learningRecordWorkflowId, pendingApprovalQuery, recertificationWorkflowId } from '../../workflows/definitions';

Runtime.install({ logger: new DefaultLogger('WARN') });
process.env.LOG_LEVEL ??= 'warn';

const label = process.argv[2];
if (!label || !/^[\w.-]+$/.test(label)) throw new Error('usage: npx tsx test/support/record-golden-histories.ts <folder name, e.g. v3-what-changed>');
const OUT = resolve('test/golden-histories', label);
// Only these workflow types go in the folder (the ones a change touched, or new ones); default all.
const only = process.argv[3] ? new Set(process.argv[3].split(',')) : null;
const cli = findTemporalCli();
if (!cli) throw new Error('the temporal CLI is needed to export histories: npx hrsync toolchain');
const dir = join(tmpdir(), `hrsync-golden-${process.pid}`);
mkdirSync(dir, { recursive: true });
process.env.HRSYNC_CONFIG = sampleOrganisationFile(dir, (org) => {
  org.approvals.kinds.leadership = { approvers: ['hr.director', 'ops.vp'], remindAfter: '1s', escalateAfter: '2s', escalateTo: ['coo.office'], rejectAfter: '4s' };
  org.learning.recertification = { reenrollBefore: '3s', remindBefore: '2s' };
});

delete process.env.DATABASE_URL;
const { startLocalStack } = await import('../../stack/local');
const stack = await startLocalStack({ ephemeral: true, progress: (line) => console.log(line) });
const hris = stack.hrisSimulator!;
const today = isoDateOf(new Date());
const ids: string[] = [];

async function post(event: HrEvent): Promise<string | null> {
  const body = JSON.stringify(event);
  const res = await fetch(`${stack.config.bridgeUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...signEvent(stack.config.webhookSecret!, body) }, body });
  const answer = (await res.json()) as { eventWorkflowId: string | null };
  if (res.status !== 202) throw new Error(`${event.id}: ${res.status} ${JSON.stringify(answer)}`);
  if (answer.eventWorkflowId) ids.push(answer.eventWorkflowId);
  ids.push(`employee-${event.employee.id}`);
  return answer.eventWorkflowId;
}
const done = (id: string | null) => resultWhenStarted(stack.temporal, id!).catch(() => undefined);
async function approveWhenAsked(id: string, approver: string) {
  for (;;) {
    const pending = await stack.temporal.workflow.getHandle(id).query(pendingApprovalQuery).catch(() => null);
    if (pending) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stack.temporal.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver, reason: 'golden history' }] });
}
const person = (i: number, prefix: string, overrides = {}) => ({ ...employeeProfile(i, SAMPLE_HIRES[i]!, today, prefix), ...overrides });

try {
  // A plain hire.
  const a = person(0, 'G', { managerId: 'G1002' });
  hris.upsertEmployee(bambooRecord(a));
  await done(await post(hireEvent(a)));

  // A hire whose job code needs the AI mapper, held for approval and approved.
  const b = person(1, 'G', { jobCode: 'LEGACY-7', jobTitle: 'Operator' });
  hris.upsertEmployee(bambooRecord(b));
  const bId = await post(hireEvent(b));
  await approveWhenAsked(bId!, 'ld.chen');
  await done(bId);

  // A promotion into leadership, approved; another left to the timers (reminded, escalated, rejected).
  const c = person(3, 'G');
  hris.upsertEmployee(bambooRecord(c));
  await done(await post(hireEvent(c)));
  const promoted = { ...c, jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor' };
  hris.upsertEmployee(bambooRecord(promoted));
  const cId = await post(lifecycleEvent('role_change', promoted, { id: 'evt-golden-promotion' }));
  await approveWhenAsked(cId!, 'hr.director');
  await done(cId);
  const d = person(4, 'G');
  hris.upsertEmployee(bambooRecord(d));
  await done(await post(hireEvent(d)));
  const promotedD = { ...d, jobCode: 'PRD-SUP', jobTitle: 'Production Supervisor', department: 'PRD' };
  hris.upsertEmployee(bambooRecord(promotedD));
  await done(await post(lifecycleEvent('role_change', promotedD, { id: 'evt-golden-timeout' })));

  // A transfer and an access grant.
  const e = person(5, 'G');
  hris.upsertEmployee(bambooRecord(e));
  await done(await post(hireEvent(e)));
  const moved = { ...e, site: 'BAY' };
  hris.upsertEmployee(bambooRecord(moved));
  await done(await post(lifecycleEvent('transfer', moved, { id: 'evt-golden-transfer' })));
  await done(await post(lifecycleEvent('access_grant', moved, { id: 'evt-golden-grant', access: { group: 'DCS Engineering Workstation' } })));

  // A termination that waits on a timer for its date.
  const f = person(10, 'G');
  hris.upsertEmployee(bambooRecord(f));
  await done(await post(hireEvent(f)));
  const leaves = new Date(Date.now() + 3000).toISOString();
  hris.upsertEmployee(bambooRecord(f, leaves));
  await done(await post(lifecycleEvent('termination', f, { id: 'evt-golden-leaves', termination: { date: leaves, reasonCode: 'RESIGNATION' } })));

  // A contractor whose contract ends (the entity's timers, then contractorExpiry).
  const ends = new Date(Date.now() + 4000).toISOString();
  const g = contractorProfile('G9001', 'BAY', 'CTR-MNT', today, ends);
  hris.upsertEmployee(bambooRecord(g));
  await done(await post(lifecycleEvent('contractor_start', g, { id: 'evt-golden-contractor' })));
  const expiry = `contractorExpiry-${g.id}-${ends}`;
  await resultWhenStarted(stack.temporal, expiry, 60_000);
  ids.push(expiry);

  // A termination that supersedes an onboarding waiting for approval.
  const h = person(7, 'G', { jobCode: 'LEGACY-9', jobTitle: 'Operator' });
  hris.upsertEmployee(bambooRecord(h));
  const hId = await post(hireEvent(h));
  for (;;) {
    if (await stack.temporal.workflow.getHandle(hId!).query(pendingApprovalQuery).catch(() => null)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  hris.upsertEmployee(bambooRecord(h, today));
  await done(await post(lifecycleEvent('termination', h, { id: 'evt-golden-supersedes', termination: { date: today, reasonCode: 'NO_SHOW' } })));
  await done(hId);

  // An identity-provider event (Okta): the login's identity workflow resolves and submits it.
  const login = a.email;
  const okta = await fetch(`${stack.config.bridgeUrl}/webhooks/okta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: stack.config.surfaces.oktaHookSecret! },
    body: JSON.stringify({
      data: {
        events: [
          { uuid: 'golden-okta-1', published: new Date().toISOString(), eventType: 'group.user_membership.add', target: [{ type: 'User', alternateId: login }, { type: 'UserGroup', displayName: 'EHR Clinical Access' }] },
        ],
      },
    }),
  });
  if (okta.status !== 200) throw new Error(`okta: ${okta.status}`);
  await done(`accessGrant-${a.id}-okta-golden-okta-1`);
  ids.push(identityWorkflowId('okta', login), `accessGrant-${a.id}-okta-golden-okta-1`);

  // A reconciliation that finds drift (a group removed by hand) and fixes it through the employee workflow.
  stack.lmsSimulator!.tamper(a.id, { removeGroup: 'dept-operations' });
  const reconciliationId = 'reconciliation-golden';
  const run = await stack.temporal.workflow.start('reconciliation', { workflowId: reconciliationId, taskQueue: stack.config.taskQueue, args: [{}] });
  await run.result();
  const fixId = `reconcileEmployee-${a.id}-${reconciliationId}`;
  await resultWhenStarted(stack.temporal, fixId, 60_000);
  ids.push(reconciliationId, fixId);

  // Learning flowing back: completions announced by the LMS (one proposes a job change, approved),
  // a certificate renewed on its timers, and a poll of the LMS's completions.
  const lms = stack.lmsSimulator!;
  lms.setWebhook({ url: `${stack.config.bridgeUrl}/webhooks/lms`, secret: stack.config.surfaces.lmsWebhookSecret! });
  const complete = async (employeeId: string, courseCode: string, score: number, completedAt = new Date().toISOString()) => {
    await fetch(`${lms.url}/sim/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ externalId: employeeId, courseCode, score, completedAt }) });
    await lms.idle();
    const id = learningRecordWorkflowId(completionKey({ employeeId, courseId: courseCode, completedAt }));
    ids.push(id);
    return id;
  };
  for (const course of ['PSM-201', 'MOC-201']) await done(await complete(a.id, course, 95));
  const proposes = await complete(a.id, 'PSM-301', 97);
  await approveWhenAsked(proposes, 'hr.lopez');
  await done(proposes);
  const expires = new Date(Date.now() + 5000).toISOString();
  await done(await complete(a.id, 'COC-100', 100, monthsAfter(expires, -12)));
  ids.push(recertificationWorkflowId(a.id, 'COC-100'));
  await resultWhenStarted(stack.temporal, recertificationWorkflowId(a.id, 'COC-100'), 60_000);
  lms.setWebhook(undefined);
  const pollId = 'completion-poll-golden';
  await stack.temporal.workflow.execute('completionPoll', { workflowId: pollId, taskQueue: stack.config.taskQueue, args: [{ since: new Date(Date.now() - 3_600_000).toISOString() }] });
  ids.push(pollId);

  // Give the entity workflows a moment to record the last children's results.
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  for (const id of [...new Set(ids)]) {
    const handle = stack.temporal.workflow.getHandle(id);
    const description = await handle.describe();
    if (only && !only.has(description.type)) continue;
    // Exported exactly as engineers export one by hand.
    const show = spawnSync(cli, ['workflow', 'show', '--address', stack.config.temporalAddress, '--workflow-id', id, '--output', 'json'], { encoding: 'utf8' });
    if (show.status !== 0) throw new Error(`temporal workflow show ${id}: ${show.stderr}`);
    const name = `${description.type}--${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
    writeFileSync(join(OUT, name), show.stdout);
    console.log(`recorded ${name} (${(JSON.parse(show.stdout) as { events: unknown[] }).events.length} events, ${description.status.name})`);
  }
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
