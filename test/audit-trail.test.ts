import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_CSV_COLUMNS, auditTrail, UnknownEmployeeError, type AuditTrail, type AuditTrailEntry } from '../client/audit-trail';
import { employeePlan } from '../client/inspect';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { bambooRecord, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../simulators/roster';
import { eventually, runHrsync, stackEnvironment, startTestStack, type TestStack } from './support/stack';

// `hrsync audit EMPLOYEE`: a person's whole trail, in order, every entry traceable to the
// workflow run that wrote it, against the real stack (a hire through a BambooHR webhook, a
// promotion approved by a person, a termination; an AI-mapped legacy job code).


let stack: TestStack;
let env: NodeJS.ProcessEnv;
const home = mkdtempSync(join(tmpdir(), 'hrsync-audit-'));
const today = isoDateOf(new Date());

beforeAll(async () => {
  stack = await startTestStack();
  env = { ...stackEnvironment(stack, home), OPENAI_API_KEY: '' };
});
afterAll(async () => stack?.stop());

const runIdOf = async (workflowId: string) => (await stack.client.workflow.getHandle(workflowId).describe()).runId;

/** What a CSV record says, read back into the JSON entry's terms. */
const fromCsv = (r: Record<string, string>) => ({
  id: r.id === '' ? null : Number(r.id),
  at: r.at,
  kind: r.kind,
  action: r.action,
  result: r.result,
  eventId: r.event_id || null,
  eventType: r.event_type || null,
  source: r.source || null,
  workflowId: r.workflow_id || null,
  runId: r.run_id || null,
  handledBy: r.handled_by_workflow_id ? { workflowId: r.handled_by_workflow_id, runId: r.handled_by_run_id } : null,
  rawDeliveryIds: r.raw_delivery_ids ? r.raw_delivery_ids.split(' ').map(Number) : [],
  summary: r.summary,
  rationale: r.rationale || null,
  aiDecisionId: r.ai_decision_id ? Number(r.ai_decision_id) : null,
  step: r.step ? JSON.parse(r.step) : null,
  detail: r.detail ? JSON.parse(r.detail) : null,
});
const asCsvSees = (e: AuditTrailEntry) => {
  const { aiDecision, ...rest } = e;
  return { ...rest, aiDecisionId: aiDecision?.id ?? null };
};

/** The trail as `hrsync audit --json` prints it. */
async function trailOf(employeeId: string): Promise<AuditTrail> {
  const res = await runHrsync(env, 'audit', employeeId, '--json');
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout);
}
async function csvOf(employeeId: string): Promise<string> {
  const res = await runHrsync(env, 'audit', employeeId, '--csv');
  expect(res.code).toBe(0);
  return res.stdout;
}
async function timelineOf(employeeId: string): Promise<string> {
  const res = await runHrsync(env, 'audit', employeeId);
  expect(res.code).toBe(0);
  return res.stdout;
}

describe('hrsync audit', () => {
  it('a hire (BambooHR webhook), a promotion approved by a person and a termination: in order, each entry with its workflow and run ids and the raw delivery', async () => {
    const person: EmployeeProfile = employeeProfile(2, SAMPLE_HIRES[2]!, today, 'AT'); // maintenance technician at Baytown
    // The hire arrives as HR enters it in BambooHR: a signed webhook, kept raw.
    stack.hris.setWebhook({ url: `${stack.bridge.url}/webhooks/bamboohr`, privateKey: stack.config.surfaces.bamboohrWebhookKey!, format: 'event' });
    try {
      stack.hris.upsertEmployee(bambooRecord(person));
      await stack.hris.idle();
    } finally {
      stack.hris.setWebhook(undefined);
    }
    const hireId = await eventually(async () => (await stack.pool.query(`SELECT event_id FROM hr_events WHERE employee_id = $1 AND type = 'hire'`, [person.id])).rows[0]?.event_id as string | undefined, 'the hire event');
    const onboarding = `onboarding-${person.id}-${hireId}`;
    await stack.resultOf(onboarding);

    const promoted = { ...person, jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor', department: 'OPS' };
    stack.hris.upsertEmployee(bambooRecord(promoted));
    const promotion = lifecycleEvent('role_change', promoted, { effectiveDate: today });
    expect((await stack.postEvent(promotion)).status).toBe(202);
    const roleChange = `roleChange-${person.id}-${promotion.id}`;
    await stack.decideWhenPending(roleChange, 'approve', 'hr.director', 'promotion confirmed by the plant manager');
    expect(await stack.resultOf<{ outcome: string }>(roleChange)).toMatchObject({ outcome: 'applied' });

    stack.hris.upsertEmployee(bambooRecord(promoted, today));
    const leaving = lifecycleEvent('termination', promoted, { termination: { date: today, reasonCode: 'RESIGNATION' } });
    expect((await stack.postEvent(leaving)).status).toBe(202);
    const offboarding = `offboarding-${person.id}-${leaving.id}`;
    await stack.resultOf(offboarding);

    const trail = await trailOf(person.id);
    expect(trail.employeeId).toBe(person.id);
    const { entries } = trail;

    // Every audit row, in audit-id order.
    const rows = await stack.auditRows(person.id);
    const ids = (await stack.pool.query(`SELECT id FROM audit_log WHERE employee_id = $1 ORDER BY id`, [person.id])).rows.map((r) => Number(r.id));
    expect(entries.map((e) => e.id)).toEqual(ids);
    expect(entries).toHaveLength(rows.length);

    // The three events, as delivered, each handled by its own workflow run.
    const runs = { [onboarding]: await runIdOf(onboarding), [roleChange]: await runIdOf(roleChange), [offboarding]: await runIdOf(offboarding) };
    const deliveries = entries.filter((e) => e.kind === 'delivery');
    expect(deliveries.map((e) => [e.action, e.result, e.eventId, e.workflowId, e.handledBy])).toEqual([
      ['hire', 'accepted', hireId, `employee-${person.id}`, { workflowId: onboarding, runId: runs[onboarding] }],
      ['role_change', 'accepted', promotion.id, `employee-${person.id}`, { workflowId: roleChange, runId: runs[roleChange] }],
      ['termination', 'accepted', leaving.id, `employee-${person.id}`, { workflowId: offboarding, runId: runs[offboarding] }],
    ]);
    // The hire came through BambooHR: the raw webhook delivery that produced it is named.
    const raw = (await stack.pool.query(`SELECT id FROM raw_deliveries WHERE $1 = ANY(event_ids) ORDER BY id`, [hireId])).rows.map((r) => Number(r.id));
    expect(raw.length).toBeGreaterThan(0);
    expect(deliveries[0]).toMatchObject({ source: 'bamboohr', eventType: 'hire', rawDeliveryIds: raw });
    expect(deliveries[1]).toMatchObject({ source: 'api', eventType: 'role_change', rawDeliveryIds: [] });

    // Everything else was written by a workflow run, and says which.
    for (const e of entries.filter((x) => x.kind !== 'delivery')) {
      expect(e.workflowId, `${e.kind} ${e.action}`).toBeTruthy();
      expect(e.runId, `${e.kind} ${e.action}`).toBeTruthy();
      if (e.workflowId! in runs) expect(e.runId).toBe(runs[e.workflowId!]);
    }

    // In order: each event's plan, approval, steps and outcome, one event after the other.
    const milestones = entries
      .filter((e) => ['delivery', 'plan', 'approval', 'outcome'].includes(e.kind) || (e.kind === 'step' && e.action === 'deactivate_user'))
      .map((e) => `${e.kind}:${e.action}:${e.result}`);
    expect(milestones).toEqual([
      'delivery:hire:accepted',
      'plan:planned:' + entries.find((e) => e.kind === 'plan' && e.workflowId === onboarding)!.result,
      'outcome:hire:applied',
      'delivery:role_change:accepted',
      'plan:planned:' + entries.find((e) => e.kind === 'plan' && e.workflowId === roleChange)!.result,
      'approval:requested:leadership',
      'approval:approved:hr.director',
      'outcome:role_change:applied',
      'delivery:termination:accepted',
      'plan:planned:1 step',
      'step:deactivate_user:applied',
      'outcome:termination:applied',
    ]);
    const approved = entries.find((e) => e.kind === 'approval' && e.action === 'approved')!;
    expect(approved).toMatchObject({ workflowId: roleChange, runId: runs[roleChange], eventId: promotion.id, summary: 'approved by hr.director: promotion confirmed by the plant manager' });
    expect(entries.find((e) => e.kind === 'step' && e.action === 'enroll' && e.workflowId === onboarding)!.summary).toMatch(/^enroll in [A-Z0-9-]+ \(due \d{4}-\d{2}-\d{2}\): applied$/);

    // --csv: RFC 4180 with a header; parsed back, the same rows as --json.
    const csv = await csvOf(person.id);
    expect(csv.split('\r\n')[0]).toBe(AUDIT_CSV_COLUMNS.join(','));
    const records = parse(csv, { columns: true }) as Record<string, string>[];
    expect(records.map(fromCsv)).toEqual(entries.map(asCsvSees));

    // The timeline for people: each run under its workflow id and run id.
    const timeline = await timelineOf(person.id);
    expect(timeline).toContain(`Audit trail of ${person.id}: ${entries.length} entries, 3 events`);
    for (const [workflowId, runId] of Object.entries(runs)) expect(timeline).toContain(`── ${workflowId}  run ${runId}`);
    expect(timeline).toContain('approved by hr.director: promotion confirmed by the plant manager');
    expect(timeline.indexOf(`── ${onboarding}`)).toBeLessThan(timeline.indexOf(`── ${roleChange}`));
    expect(timeline.indexOf(`── ${roleChange}`)).toBeLessThan(timeline.indexOf(`── ${offboarding}`));
  });

  it('an AI mapping of an unknown job code shows the mapper, its confidence and its rationale', async () => {
    const person: EmployeeProfile = { ...employeeProfile(0, SAMPLE_HIRES[0]!, today, 'AM'), jobCode: 'LEGACY-1', jobTitle: 'Sr. Process Tech', department: 'OPS', site: 'BAY' };
    stack.hris.upsertEmployee(bambooRecord(person));
    const event = hireEvent(person);
    expect((await stack.postEvent(event)).status).toBe(202);
    const onboarding = `onboarding-${person.id}-${event.id}`;
    expect(await stack.resultOf<{ outcome: string }>(onboarding)).toMatchObject({ outcome: 'applied' });
    // A dry run (`hrsync plan`) asks the mapper too: a decision no workflow acted on.
    expect((await employeePlan(stack.config, stack.pool, person.id)).steps).toEqual([]);

    const { entries } = await trailOf(person.id);
    const decision = entries.find((e) => e.kind === 'decision')!;
    const stored = (await stack.pool.query(`SELECT * FROM ai_decisions WHERE employee_id = $1 AND workflow_id = $2`, [person.id, onboarding])).rows[0];
    expect(stored).toBeDefined();
    expect(decision).toMatchObject({
      action: 'job-mapping',
      result: 'applied',
      workflowId: onboarding,
      runId: await runIdOf(onboarding),
      eventId: event.id,
      rationale: stored.parsed.rationale,
      aiDecision: { id: Number(stored.id), mapper: 'deterministic', confidence: stored.confidence, fallbackReason: expect.stringContaining('OPENAI_API_KEY'), answer: expect.objectContaining({ jobCode: 'PRC-TEC' }) },
    });
    expect(decision.rationale).toMatch(/Sr\. Process Tech.*PRC-TEC/);
    expect(decision.summary).toMatch(/^job mapping by the deterministic mapper: PRC-TEC \(role technician\), confidence 0\.\d\d → applied$/);
    // Only job attributes went to the mapper: the stored input has no name or email.
    expect(JSON.stringify(decision.aiDecision!.input)).not.toContain(person.lastName);
    expect(entries.at(-1)).toMatchObject({ id: null, kind: 'decision', action: 'job-mapping', result: 'not-acted-on', workflowId: null, rationale: stored.parsed.rationale, aiDecision: { mapper: 'deterministic' } });
    expect(entries.at(-1)!.aiDecision!.id).toBeGreaterThan(Number(stored.id));
    // The decision comes before the plan it shaped.
    expect(entries.findIndex((e) => e.kind === 'decision')).toBeLessThan(entries.findIndex((e) => e.kind === 'plan'));

    const timeline = await timelineOf(person.id);
    expect(timeline).toContain(`rationale: ${stored.parsed.rationale}`);
    const records = parse(await csvOf(person.id), { columns: true }) as Record<string, string>[];
    expect(records.find((r) => r.kind === 'decision')).toMatchObject({ rationale: stored.parsed.rationale, ai_decision_id: String(stored.id) });
    expect(records.map(fromCsv)).toEqual(entries.map(asCsvSees));
  });

  it('an employee hrsync knows nothing about is an error', async () => {
    await expect(auditTrail(stack.pool, 'NOBODY-404')).rejects.toBeInstanceOf(UnknownEmployeeError);
  });

  it('through the CLI: an unknown employee is an error on stderr with a non-zero exit; --json and --csv exclude each other', async () => {
    const unknown = await runHrsync(env, 'audit', 'NOBODY-404');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/employee NOBODY-404 has no audit trail/);
    const both = await runHrsync(env, 'audit', 'NOBODY-404', '--json', '--csv');
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/cannot be used with/);
  });
});
