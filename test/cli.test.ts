import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, isoDateOf } from '../domain/dates';
import { bambooRecord, hireEvent, sampleRoster } from '../simulators/roster';
import { eventually, runHrsync, stackEnvironment, startTestStack, type TestStack } from './support/stack';

// The `hrsync` command as users run it (a separate process, configured by the environment),
// against the test stack: the --json shapes of SPEC §8 and errors on stderr.

let stack: TestStack;
let env: NodeJS.ProcessEnv;
const home = mkdtempSync(join(tmpdir(), 'hrsync-cli-'));

beforeAll(async () => {
  stack = await startTestStack();
  // No LLM here: the mapper must say the deterministic mapper answered because none is configured.
  env = { ...stackEnvironment(stack, home), OPENAI_API_KEY: '' };
});
afterAll(async () => stack?.stop());

const hrsync = (...args: string[]) => runHrsync(env, ...args);

describe('hrsync event, status and plan', () => {
  const person = sampleRoster(isoDateOf(new Date()), 'Y')[7]!; // a registered nurse at the clinic

  it('event signs and submits a file; status --json has the documented keys', async () => {
    stack.hris.upsertEmployee(bambooRecord(person));
    const file = join(home, 'hire.json');
    const event = hireEvent(person);
    writeFileSync(file, JSON.stringify(event));
    const submitted = await hrsync('event', file);
    expect(submitted.code).toBe(0);
    expect(JSON.parse(submitted.stdout)).toMatchObject({ status: 'accepted', workflowId: `employee-${person.id}` });
    await stack.resultOf(`onboarding-${person.id}-${event.id}`);

    const status = await eventually(async () => {
      const res = await hrsync('status', person.id, '--json');
      const doc = JSON.parse(res.stdout);
      return doc.workflows.some((w: { type: string; status: string }) => w.type === 'onboarding' && w.status === 'COMPLETED') ? doc : undefined;
    }, 'the onboarding in the status');
    expect(Object.keys(status)).toEqual(expect.arrayContaining(['employee', 'lms', 'workflows', 'pendingApprovals', 'audit']));
    expect(status.employee).toMatchObject({ id: person.id, jobCode: 'RN', site: 'CLN' });
    expect(status.lms).toMatchObject({ active: true, branch: 'BR-CLN' });
    expect(Object.keys(status.lms)).toEqual(expect.arrayContaining(['userId', 'active', 'branch', 'groups', 'enrollments']));
    expect(status.lms.enrollments[0]).toEqual({ courseId: expect.any(String), status: 'enrolled', dueDate: expect.any(String) });
    expect(status.workflows).toContainEqual(expect.objectContaining({ workflowId: `employee-${person.id}`, type: 'employeeLifecycle', status: 'RUNNING' }));
    expect(status.pendingApprovals).toEqual([]);
    expect(status.audit.map((a: { action: string }) => a.action)).toContain('hire');
  });

  it('plan --json is empty when the LMS matches, and --as-of previews a coming termination', async () => {
    const now = JSON.parse((await hrsync('plan', person.id, '--json')).stdout);
    expect(Object.keys(now)).toEqual(expect.arrayContaining(['desired', 'actual', 'steps']));
    expect(now.steps).toEqual([]);

    const leaves = addDays(isoDateOf(new Date()), 20);
    stack.hris.upsertEmployee(bambooRecord(person, leaves));
    const later = JSON.parse((await hrsync('plan', person.id, '--json', '--as-of', leaves)).stdout);
    expect(later.steps).toEqual([{ action: 'deactivate_user' }]);
    const human = await hrsync('plan', person.id, '--as-of', leaves);
    expect(human.stdout).toMatch(/deactivate_user/);
  });

  it('map --json has exactly the documented keys and records the decision', async () => {
    const res = await hrsync('map', '--title', 'Sr. Maint Tech', '--department', 'MNT', '--site', 'Baytown', '--json');
    expect(res.code).toBe(0);
    const mapping = JSON.parse(res.stdout);
    expect(Object.keys(mapping).sort()).toEqual(['confidence', 'curricula', 'groups', 'jobCode', 'mapper', 'needsApproval', 'rationale', 'role'].sort());
    expect(mapping).toMatchObject({ jobCode: 'MNT-SR', role: 'technician', groups: ['loto-authorized'], mapper: 'deterministic' });
    expect(mapping.curricula).toContain('maintenance-crafts');
    expect(mapping.confidence).toBeGreaterThan(0);
    const stored = await stack.pool.query(`SELECT mapper, fallback_reason FROM ai_decisions WHERE redacted_input->>'jobTitle' = 'Sr. Maint Tech'`);
    expect(stored.rows).toEqual([{ mapper: 'deterministic', fallback_reason: 'no LLM is configured (OPENAI_API_KEY is unset)' }]);
    const empty = await hrsync('map', '--title', ' ');
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/jobTitle must not be empty/);
  });

  it('errors go to stderr with a non-zero exit', async () => {
    const missing = await hrsync('plan', 'NOBODY', '--json');
    expect(missing.code).not.toBe(0);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/employee NOBODY is not in the HRIS/);
    const badDate = await hrsync('plan', person.id, '--as-of', 'next tuesday');
    expect(badDate.stderr).toMatch(/--as-of must be a date/);
    const rejected = await hrsync('event', join(home, 'nope.json'));
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(/ENOENT|no such file/);
  });
});
