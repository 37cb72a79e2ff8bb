import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { monthsAfter } from '../domain/learning';
import { bambooRecord, employeeProfile, hireEvent, SAMPLE_HIRES } from '../simulators/roster';
import { signDoceboWebhook } from '../simulators/lms';
import { employeeStatus } from '../client/inspect';
import { readComplianceReport } from '../client/compliance-report';
import { loadOrganisation } from '../domain/load-organisation';
import type { LearningRecordResult } from '../workflows/learning';
import { recertificationQuery, recertificationWorkflowId } from '../workflows/definitions';
import { eventually, runHrsync, stackEnvironment, startTestStack, type TestStack } from './support/stack';
import { sampleOrganisationFile } from './support/organisation-file';

// Learning flowing back: completions from the LMS (webhook and poller) become one training
// record each, skills on the HRIS profile, a job-change request behind an approval, and a
// certificate's renewal on a durable timer. The organisation is the sample with renewal lead
// times of seconds, so a certificate that expires in 12 s is renewed during the test.

const dir = mkdtempSync(join(tmpdir(), 'hrsync-learning-'));
const organisationPath = sampleOrganisationFile(dir, (org) => {
  org.learning.recertification = { reenrollBefore: '8s', remindBefore: '4s' };
});

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ organisationPath });
  stack.lms.setWebhook({ url: `${stack.bridge.url}/webhooks/lms`, secret: stack.surfaceSecrets.lms });
});
afterAll(async () => stack?.stop());

const today = () => isoDateOf(new Date());
let serial = 0;
/** A Chemical Process Operator I at Baytown (or another sample hire), hired and onboarded. */
async function operator(hire = SAMPLE_HIRES[0]!): Promise<EmployeeProfile> {
  const p = { ...employeeProfile(serial++, hire, today(), 'LR') };
  stack.hris.upsertEmployee(bambooRecord(p));
  const event = hireEvent(p);
  expect((await stack.postEvent(event)).status).toBe(202);
  await stack.resultOf(`onboarding-${p.id}-${event.id}`);
  return p;
}

/** Completes a course in the LMS simulator (which announces it to the bridge) and waits for its workflow. */
async function completeAndWait(employeeId: string, courseCode: string, options: { score?: number; completedAt?: string } = {}) {
  const completedAt = options.completedAt ?? new Date().toISOString();
  const res = await fetch(`${stack.lms.url}/sim/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ externalId: employeeId, courseCode, score: options.score, completedAt }) });
  expect(res.status).toBe(200);
  await stack.lms.idle();
  const workflowId = `learning-${employeeId}:${courseCode}:${new Date(completedAt).toISOString()}`;
  return { workflowId, completedAt, result: () => stack.resultOf<LearningRecordResult>(workflowId) };
}

const records = async (employeeId: string) =>
  (await stack.pool.query('SELECT * FROM training_records WHERE employee_id = $1 ORDER BY completed_at', [employeeId])).rows;

async function postLmsWebhook(body: string, signature = signDoceboWebhook(stack.surfaceSecrets.lms, body)) {
  const res = await fetch(`${stack.bridge.url}/webhooks/lms`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-docebo-signature': signature }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('learning flows back', () => {
  it('a completion webhook → one training record with its evidence, skills on the HRIS profile, audit entries; the same completion again (redelivery, poller) → still one record', async () => {
    const p = await operator();
    const done = await completeAndWait(p.id, 'LOTO-201', { score: 93 });
    const result = await done.result();
    expect(result.recorded).toBe(true);
    expect(result.skills).toContainEqual({ skillId: 'loto', proficiency: 'advanced' });

    const [record] = await records(p.id);
    expect(record).toMatchObject({ course_id: 'LOTO-201', source: 'lms', workflow_id: done.workflowId, score: '93' });
    expect(record.regulation).toMatch(/1910\.147/);
    expect(record.retention_years).toBeGreaterThan(0);

    const skills = stack.hris.tableRows(p.id, 'customSkills');
    expect(skills).toEqual([expect.objectContaining({ customSkillId: 'loto', customProficiency: 'advanced', customEvidence: 'LOTO-201', customAssessedOn: today() })]);
    const audit = (await stack.auditRows(p.id)).filter((r) => r.kind === 'learning').map((r) => r.action);
    expect(audit).toEqual(expect.arrayContaining(['training-recorded', 'skills-written']));

    // The LMS sends the same message again (its retry), and the poller reads it later: nothing new starts.
    const [sent] = stack.lms.webhookDeliveries().slice(-1);
    expect(sent!.status).toBe(202);
    const { rows: kept } = await stack.pool.query(`SELECT raw_body FROM raw_deliveries WHERE source = 'lms' AND $1 = ANY(event_ids)`, [record.completion_key]);
    const again = await postLmsWebhook(kept[0].raw_body);
    expect(again).toMatchObject({ status: 200, body: { status: 'duplicate', completionKey: record.completion_key } });
    const polled = await stack.client.workflow.execute('completionPoll', { workflowId: `poll-${p.id}`, taskQueue: stack.taskQueue, args: [{ since: done.completedAt }] });
    expect(polled).toMatchObject({ found: expect.any(Number), accepted: 0 });
    expect((polled as { found: number }).found).toBeGreaterThanOrEqual(1);
    expect(await records(p.id)).toHaveLength(1);
    const { rows: taken } = await stack.pool.query('SELECT deliveries FROM completions WHERE completion_key = $1', [record.completion_key]);
    expect(taken[0].deliveries).toBeGreaterThanOrEqual(3);
  });

  it('turns away what it cannot trust or read, and keeps it: a bad signature, a body that is not a completion, an LMS user without an employee id', async () => {
    const body = JSON.stringify({ event: 'course.enrollment.completed', message_id: 'wh-x', payload: { user_id: 1, course_code: 'LOTO-201', completion_date: '2026-11-20 10:00:00' } });
    expect((await postLmsWebhook(body, 'sha256=' + '0'.repeat(64))).status).toBe(401);
    const bad = await postLmsWebhook(JSON.stringify({ event: 'course.enrollment.completed', message_id: 'wh-y', payload: { user_id: 1, completion_date: 'yesterday' } }));
    expect(bad).toMatchObject({ status: 400, body: { field: 'payload.course_code' } });
    const unknown = await postLmsWebhook(body);
    expect(unknown.status).toBe(422);
    const { rows } = await stack.pool.query(`SELECT status FROM dead_letters WHERE source = 'lms' AND endpoint = '/webhooks/lms' ORDER BY id`);
    expect(rows.map((r) => r.status)).toEqual(expect.arrayContaining([401, 400, 422]));
  });

  it('the poller: the first poll starts the watermark, later polls take what was completed since, once', async () => {
    await stack.pool.query(`DELETE FROM lms_watermarks WHERE source = 'lms-poll'`);
    const poll = (n: number) => stack.client.workflow.execute('completionPoll', { workflowId: `poll-${Date.now()}-${n}`, taskQueue: stack.taskQueue, args: [{}] }) as Promise<{ found: number; accepted: number; started: boolean }>;
    expect(await poll(1)).toMatchObject({ started: true, found: 0 });
    const p = await operator();
    stack.lms.setWebhook(undefined); // an LMS without webhooks
    try {
      const completedAt = new Date(Date.now() + 1000).toISOString();
      await fetch(`${stack.lms.url}/sim/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ externalId: p.id, courseCode: 'HAZ-101', completedAt }) });
      expect(await poll(2)).toMatchObject({ accepted: 1 });
      expect(await poll(3)).toMatchObject({ accepted: 0 });
      // The CLI: a backfill from before the completion finds it again and starts nothing; a bad --since is named.
      const env = stackEnvironment(stack, dir);
      const cli = await runHrsync(env, 'poll-completions', '--since', new Date(Date.parse(completedAt) - 60_000).toISOString(), '--json');
      expect(cli.code).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ accepted: 0, duplicates: expect.any(Number) });
      expect(JSON.parse(cli.stdout).found).toBeGreaterThanOrEqual(1);
      const wrong = await runHrsync(env, 'poll-completions', '--since', 'last tuesday');
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain('--since must be an ISO 8601 date-time, got "last tuesday"');
      await stack.resultOf(`learning-${p.id}:HAZ-101:${completedAt}`);
      expect(await records(p.id)).toEqual([expect.objectContaining({ course_id: 'HAZ-101', source: 'lms-poll' })]);
    } finally {
      stack.lms.setWebhook({ url: `${stack.bridge.url}/webhooks/lms`, secret: stack.surfaceSecrets.lms });
    }
  });

  it('a skill level the organisation ties to another job opens a job-change request that waits for HR, and is filed in the HRIS after approval', async () => {
    const p = await operator();
    // process-safety: PSM-201, PSM-301 and MOC-201 all completed with high scores → advanced → CHM-OP1 may become CHM-OP2.
    expect((await (await completeAndWait(p.id, 'PSM-201', { score: 96 })).result()).jobChange).toBeNull();
    expect((await (await completeAndWait(p.id, 'MOC-201', { score: 94 })).result()).jobChange).toBeNull();
    const last = await completeAndWait(p.id, 'PSM-301', { score: 98 });
    const pending = await stack.pendingOn(last.workflowId);
    expect(pending).toMatchObject({ kind: 'job-change', employeeId: p.id, approvers: ['hr.lopez', 'ops.vp'] });
    expect(stack.hris.tableRows(p.id, 'customJobChangeRequests')).toEqual([]); // nothing filed before a decision
    await stack.decideWhenPending(last.workflowId, 'approve', 'hr.lopez', 'ready for Operator II');
    const result = await last.result();
    expect(result.jobChange).toMatchObject({ toJobCode: 'CHM-OP2', decision: 'approve', approver: 'hr.lopez', filed: true });
    expect(stack.hris.tableRows(p.id, 'customJobChangeRequests')).toEqual([
      expect.objectContaining({ customFromJobCode: 'CHM-OP1', customToJobCode: 'CHM-OP2', customApprovedBy: 'hr.lopez', customStatus: 'Requested', customRequestId: last.workflowId }),
    ]);
    expect(stack.hris.tableRows(p.id, 'customSkills')).toContainEqual(expect.objectContaining({ customSkillId: 'process-safety', customProficiency: 'advanced' }));
    const audit = (await stack.auditRows(p.id)).map((r) => `${r.kind}:${r.action}`);
    expect(audit).toEqual(expect.arrayContaining(['approval:requested', 'approval:approved', 'learning:job-change-requested']));
    // A later completion does not ask again: the request is on the HRIS record until HR acts on it.
    expect((await (await completeAndWait(p.id, 'HAZ-101')).result()).jobChange).toBeNull();
    expect(stack.hris.tableRows(p.id, 'customJobChangeRequests')).toHaveLength(1);
  });

  it('a declined job change files nothing and is not asked again on the next completion', async () => {
    const tech = await operator(SAMPLE_HIRES[3]); // Process Technician: safety leadership (LDR-301, PSM-301) → Process Supervisor
    await (await completeAndWait(tech.id, 'LDR-301', { score: 80 })).result();
    const last = await completeAndWait(tech.id, 'PSM-301', { score: 85 });
    expect(await stack.pendingOn(last.workflowId)).toMatchObject({ kind: 'job-change' });
    await stack.decideWhenPending(last.workflowId, 'reject', 'ops.vp', 'not this year');
    expect((await last.result()).jobChange).toMatchObject({ toJobCode: 'PRC-SUP', decision: 'reject', filed: false });
    expect(stack.hris.tableRows(tech.id, 'customJobChangeRequests')).toEqual([]);
    expect((await (await completeAndWait(tech.id, 'HAZ-101')).result()).jobChange).toBeNull();
    const audit = (await stack.auditRows(tech.id)).filter((r) => r.kind === 'learning' && r.action === 'job-change-declined');
    expect(audit).toHaveLength(1);
  });

  it('a certificate about to expire: reminded, then enrolled again before it expires (durable timers), and shown as overdue once it has', async () => {
    const p = await operator();
    // COC-100 renews every 12 months: completed 12 months before "in 12 s" expires in 12 s.
    const expiresAt = new Date(Date.now() + 12_000).toISOString();
    const completedAt = monthsAfter(expiresAt, -12);
    const done = await completeAndWait(p.id, 'COC-100', { completedAt });
    const result = await done.result();
    expect(result.recertification).toMatchObject({ workflowId: recertificationWorkflowId(p.id, 'COC-100'), expiresAt });
    const timers = await stack.client.workflow.getHandle(recertificationWorkflowId(p.id, 'COC-100')).query(recertificationQuery);
    expect(timers).toMatchObject({ expiresAt, reenrollAt: new Date(Date.parse(expiresAt) - 8000).toISOString(), remindAt: new Date(Date.parse(expiresAt) - 4000).toISOString() });

    // No skill lists COC-100: its title (and nothing about the person) went to the skill normaliser, which found none.
    const { rows: decisions } = await stack.pool.query(`SELECT redacted_input, mapper, parsed FROM ai_decisions WHERE kind = 'skill-normalisation' AND workflow_id = $1`, [done.workflowId]);
    expect(decisions).toEqual([expect.objectContaining({ redacted_input: ['Code of Conduct'], mapper: 'deterministic' })]);
    expect(result.skills).toEqual([]);

    const coc = () => stack.learnersFor(p.id)[0]!.enrollments.find((e) => e.course_code === 'COC-100')!;
    expect(coc().status).toBe('completed');
    await eventually(() => coc().status === 'subscribed', 're-enrollment before the expiry', 20_000);
    expect(Date.now()).toBeLessThan(Date.parse(expiresAt));
    expect(coc().due_date).toBe(expiresAt.slice(0, 10));
    await stack.resultOf(recertificationWorkflowId(p.id, 'COC-100'), 30_000);
    const { rows: reminders } = await stack.pool.query(`SELECT * FROM notifications WHERE about_employee = $1 AND kind = 'recertification-reminder'`, [p.id]);
    expect(reminders).toHaveLength(1);
    const audit = (await stack.auditRows(p.id)).filter((r) => r.kind === 'learning').map((r) => `${r.action}:${r.result}`);
    expect(audit).toEqual(expect.arrayContaining(['recertification-scheduled:' + timers!.reenrollAt, 're-enrolled:applied', 'recertification-reminded:' + expiresAt]));

    // Past the expiry, not renewed: overdue in `hrsync status`.
    await eventually(() => Date.now() > Date.parse(expiresAt), 'the expiry', 15_000);
    const status = await employeeStatus(stack.config, stack.client, stack.pool, p.id);
    expect(status.training.find((t) => t.courseId === 'COC-100')).toMatchObject({ standing: 'overdue', renewal: expect.stringContaining('enrolled again') });
  });

  it('a certificate that expired a month ago (a late completion record): enrolled again at once, due on the expiry; overdue since then in the compliance report and in status', async () => {
    const p = await operator();
    const expiresAt = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const done = await completeAndWait(p.id, 'SEC-100', { completedAt: monthsAfter(expiresAt, -12) });
    await done.result();
    await stack.resultOf(recertificationWorkflowId(p.id, 'SEC-100'));
    const sec = stack.learnersFor(p.id)[0]!.enrollments.find((e) => e.course_code === 'SEC-100')!;
    expect(sec).toMatchObject({ status: 'subscribed', due_date: expiresAt.slice(0, 10) });

    const report = await readComplianceReport(stack.config, loadOrganisation(organisationPath), { asOf: today(), site: 'BAY' });
    const person = report.people.find((x) => x.employeeId === p.id)!;
    expect(person.status).toBe('overdue');
    expect(person.overdueCourses).toContainEqual(expect.objectContaining({ courseId: 'SEC-100', dueDate: expiresAt.slice(0, 10) }));
    const status = await employeeStatus(stack.config, stack.client, stack.pool, p.id);
    expect(status.training.find((t) => t.courseId === 'SEC-100')).toMatchObject({ standing: 'overdue' });
  });

  it('a newer completion moves the renewal to its own expiry; an older one arriving late does not pull it back', async () => {
    const p = await operator();
    const first = await completeAndWait(p.id, 'SEC-100', { completedAt: new Date(Date.now() - 86_400_000).toISOString() });
    await first.result();
    const handle = stack.client.workflow.getHandle(recertificationWorkflowId(p.id, 'SEC-100'));
    const before = await handle.query(recertificationQuery);
    const second = await completeAndWait(p.id, 'SEC-100');
    await second.result();
    const moved = await eventually(async () => {
      const v = await handle.query(recertificationQuery);
      return v && v.expiresAt !== before!.expiresAt ? v : null;
    }, 'the timers moved');
    expect(Date.parse(moved.expiresAt)).toBeGreaterThan(Date.parse(before!.expiresAt));
    await handle.signal('certified', { completedAt: first.completedAt, expiresAt: before!.expiresAt });
    await new Promise((r) => setTimeout(r, 500));
    expect((await handle.query(recertificationQuery))!.expiresAt).toBe(moved.expiresAt);
  });
});
