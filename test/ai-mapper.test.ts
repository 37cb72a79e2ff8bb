import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { bambooRecord, employeeProfile, hireEvent } from '../simulators/roster';
import { LLM_SIMULATOR_MODEL, startLlmSimulator, type LlmSimulator } from '../simulators/llm';
import { startTestStack, type TestStack } from './support/stack';

// The AI path of an onboarding: a job code the organisation does not know goes to the LLM (the
// simulator), whose answer is checked, cached, recorded, and applied or held for approval; when
// the LLM cannot be used, the deterministic mapper answers and the audit says why.

let llm: LlmSimulator;
let stack: TestStack;
const everyone: EmployeeProfile[] = [];

beforeAll(async () => {
  llm = await startLlmSimulator({ apiKey: randomBytes(8).toString('hex') });
  stack = await startTestStack({ ai: { apiKey: llm.apiKey, baseUrl: `${llm.url}/v1`, model: LLM_SIMULATOR_MODEL, timeoutMs: 1500 } });
});
afterAll(async () => {
  await stack?.stop();
  await llm?.close();
});
afterEach(() => {
  llm.setMode('ok');
  llm.clearAnswers();
});

let serial = 0;
/** Someone whose HRIS job code is a legacy one the organisation's table does not know. */
function newcomer(jobTitle: string, overrides: Partial<EmployeeProfile> = {}): EmployeeProfile {
  const profile: EmployeeProfile = {
    ...employeeProfile(serial++, { firstName: 'Priya', lastName: 'Natarajan', jobCode: 'LEGACY-OPS', jobTitle, department: 'OPS', site: 'BAY', employmentType: 'employee' }, isoDateOf(new Date()), 'AI'),
    ...overrides,
  };
  everyone.push(profile);
  return profile;
}

type Result = { outcome: string; mapping: { mapper: string; jobCode: string | null; needsApproval: boolean; decisionId: number } | null; held: { steps: { action: string }[] } | null };

/** Hires someone; returns the onboarding's workflow id (it may be waiting for an approval). */
async function hire(profile: EmployeeProfile) {
  stack.hris.upsertEmployee(bambooRecord(profile));
  const event = hireEvent(profile);
  expect((await stack.postEvent(event)).status).toBe(202);
  return `onboarding-${profile.id}-${event.id}`;
}

async function onboard(profile: EmployeeProfile) {
  return stack.resultOf<Result>(await hire(profile));
}

async function decisionAudit(employeeId: string) {
  const rows = (await stack.auditRows(employeeId)).filter((r) => r.kind === 'decision');
  expect(rows).toHaveLength(1);
  return rows[0]!.detail as { decisionId: number; mapper: string; jobCode: string | null; fallbackReason: string | null; confidence: number; rationale: string; approvalReasons: string[]; cached: boolean };
}

const enrolledCourses = (employeeId: string) => stack.learnersFor(employeeId)[0]!.enrollments.map((e) => e.course_code).sort();

describe('a job code the organisation does not know', () => {
  it('goes through the LLM and lands the right role; the decision is in the audit store', async () => {
    llm.scriptAnswer('Process Tech', {
      jobCode: 'PRC-TEC',
      role: 'technician',
      groups: [],
      curricula: ['psm-operations'],
      confidence: 0.91,
      rationale: 'The title names a process technician; operations at a chemical plant.',
    });
    const person = newcomer('Sr. Process Tech - nights');
    const result = await onboard(person);
    expect(result.outcome).toBe('applied');
    expect(result.mapping).toMatchObject({ mapper: 'llm', jobCode: 'PRC-TEC', needsApproval: false });

    const [learner] = stack.learnersFor(person.id);
    expect(learner).toMatchObject({ role: 'technician' });
    expect(enrolledCourses(person.id)).toContain('PSM-201');
    const decision = await decisionAudit(person.id);
    expect(decision).toMatchObject({ mapper: 'llm', jobCode: 'PRC-TEC', confidence: 0.91, fallbackReason: null });
    const stored = await stack.pool.query('SELECT * FROM ai_decisions WHERE id = $1', [decision.decisionId]);
    expect(stored.rows[0]).toMatchObject({ kind: 'job-mapping', mapper: 'llm', model: LLM_SIMULATOR_MODEL, employee_id: person.id, cached: false });
    expect(stored.rows[0].redacted_input).toMatchObject({ jobTitle: 'Sr. Process Tech - nights', department: 'OPS', site: 'BAY' });
    expect(stored.rows[0].prompt).toHaveLength(2);
    expect(JSON.parse(stored.rows[0].raw_answer)).toMatchObject({ jobCode: 'PRC-TEC' });
    expect(stored.rows[0].parsed).toMatchObject({ jobCode: 'PRC-TEC', role: 'technician' });
    expect(stored.rows[0].latency_ms).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['down (HTTP 500)', () => llm.setMode('fail'), /HTTP 500/],
    ['rate limited (HTTP 429)', () => llm.setMode('fail', undefined, { status: 429 }), /HTTP 429/],
    ['timing out', () => llm.setMode('timeout'), /did not answer within 1500 ms/],
    ['answering garbage', () => llm.setMode('garbage'), /not JSON/],
    ['answering outside the schema', () => llm.setMode('off-schema'), /does not fit the schema/],
    ['naming a role and group outside the catalog', () => llm.setMode('off-catalog'), /outside the catalog: role "astronaut"/],
  ])('LLM %s → the deterministic mapper decides, the onboarding completes, and the audit says why', async (_name, breakIt, why) => {
    breakIt();
    const person = newcomer('Maintenence Techncian II', { department: 'MNT' });
    const result = await onboard(person);
    expect(['applied', 'held']).toContain(result.outcome);
    expect(result.mapping).toMatchObject({ mapper: 'deterministic', jobCode: 'MNT-TEC' });
    const decision = await decisionAudit(person.id);
    expect(decision.mapper).toBe('deterministic');
    expect(decision.fallbackReason).toMatch(why);
    expect(stack.learnersFor(person.id)).toHaveLength(1);
  });

  it('low confidence: what the mapping would add is held for approval, not applied; the rest goes ahead', async () => {
    llm.scriptAnswer('Utility Operator', { jobCode: 'CHM-OP1', role: 'operator', groups: [], curricula: ['psm-operations'], confidence: 0.41, rationale: 'Could be a chemical operator.' });
    const person = newcomer('Utility Operator');
    const workflowId = await hire(person);
    const pending = await stack.pendingOn(workflowId);
    expect(pending.kind).toBe('ai-mapping');
    expect(pending.plan).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'enroll', courseId: 'PSM-201' }), expect.objectContaining({ action: 'update_user' })]));
    const courses = enrolledCourses(person.id);
    expect(courses).not.toContain('PSM-201');
    expect(courses).toEqual(expect.arrayContaining(['EHS-101', 'IND-BAY', 'HAZ-BAY']));
    expect(stack.learnersFor(person.id)[0]!.role).toBeNull();
    const decision = await decisionAudit(person.id);
    expect(decision.approvalReasons.join(' ')).toMatch(/confidence 0.41 is below the organisation's threshold 0.75/);
    const held = (await stack.auditRows(person.id)).filter((r) => r.result === 'held-for-approval' && r.kind === 'step');
    expect(held.map((r) => r.action)).toEqual(expect.arrayContaining(['enroll', 'update_user']));

    // An approver releases it: the mapping's changes are applied.
    await stack.decideWhenPending(workflowId, 'approve', 'ld.chen', 'confirmed with the site: a chemical operator');
    expect((await stack.resultOf<Result>(workflowId)).outcome).toBe('applied');
    expect(enrolledCourses(person.id)).toContain('PSM-201');
    expect(stack.learnersFor(person.id)[0]!.role).toBe('operator');
  });

  it('a mapping into a leadership role is held whatever its confidence', async () => {
    llm.scriptAnswer('Area Lead', { jobCode: 'PRC-SUP', role: 'supervisor', groups: ['people-leaders'], curricula: ['psm-operations', 'psm-leadership', 'people-leadership'], confidence: 0.97, rationale: 'Leads an area of the plant.' });
    const person = newcomer('Area Lead, Utilities');
    const workflowId = await hire(person);
    expect((await stack.pendingOn(workflowId)).kind).toBe('leadership');
    const decision = await decisionAudit(person.id);
    expect(decision.approvalReasons).toContain('role "supervisor" is a leadership path');
    await stack.decideWhenPending(workflowId, 'reject', 'hr.director', 'not a supervisor; re-map as an operator');
    expect((await stack.resultOf<Result>(workflowId)).outcome).toBe('rejected');
    expect(stack.learnersFor(person.id)[0]!.groups).not.toContain('people-leaders');
    expect(stack.learnersFor(person.id)[0]!.role).toBeNull();
  });

  it('the same input twice is answered from the cache: one LLM request', async () => {
    llm.scriptAnswer('Instrument Tech', { jobCode: 'MNT-TEC', role: 'technician', groups: ['loto-authorized'], curricula: ['maintenance-crafts'], confidence: 0.88, rationale: 'Instrument technicians are maintenance crafts.' });
    llm.clearRequests();
    const first = newcomer('Instrument Tech III', { department: 'MNT' });
    const second = newcomer('Instrument Tech III', { department: 'MNT' });
    await onboard(first);
    await onboard(second);
    expect(llm.requests().filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
    expect((await decisionAudit(first.id)).cached).toBe(false);
    expect((await decisionAudit(second.id)).cached).toBe(true);
    expect(stack.learnersFor(second.id)[0]!.role).toBe(stack.learnersFor(first.id)[0]!.role);
  });
});

describe('the PII guard', () => {
  it('no prompt the LLM received contains a name, email or id of any test employee, even one written into the job title', async () => {
    llm.scriptAnswer('Process Tech', { jobCode: 'PRC-TEC', role: 'technician', groups: [], curricula: ['psm-operations'], confidence: 0.9, rationale: 'A process technician.' });
    const person = newcomer('Process Tech (covering for Priya Natarajan, ext 555-0142)');
    const email = person.email;
    await onboard(person);
    const sent = JSON.stringify(llm.requests().map((r) => r.body));
    expect(llm.requests().length).toBeGreaterThan(0);
    expect(sent).toContain('Process Tech');
    for (const p of everyone) {
      for (const value of [p.firstName, p.lastName, p.email, p.id]) expect(sent.toLowerCase()).not.toContain(value.toLowerCase());
    }
    expect(sent).not.toContain(email);
    expect(sent).not.toContain('555-0142');
  });
});
