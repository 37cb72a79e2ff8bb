import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { historiesInDirectory, historyFromFile, replay } from '../client/replay';
import { isoDateOf } from '../domain/dates';
import { bambooRecord, hireEvent, sampleRoster } from '../simulators/roster';
import { runHrsync, stackEnvironment, startTestStack, type TestStack } from './support/stack';

// The golden histories (test/golden-histories/<version>/, recorded from real runs of every
// workflow type by test/support/record-golden-histories.ts) must replay against today's code; a
// careless change to a workflow must not.

const GOLDEN = resolve('test/golden-histories');
const V1_ONBOARDING = join(GOLDEN, 'v1-before-first-day-notice', 'onboarding--onboarding-G1002-evt-hire-G1002.json');

describe('golden histories', () => {
  it('every recorded history replays against today\'s workflow code', async () => {
    const histories = historiesInDirectory(GOLDEN);
    const types = new Set(histories.map((h) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name));
    // Every workflow type hrsync runs is represented.
    expect([...types].sort()).toEqual(['accessGrant', 'completionPoll', 'contractorExpiry', 'employeeLifecycle', 'identityLifecycle', 'learningRecord', 'offboarding', 'onboarding', 'recertification', 'reconcileEmployee', 'reconciliation', 'roleChange', 'transfer']);
    const outcomes = await replay(histories, { workflowBundlePath: inject('workflowBundlePath') });
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes).toHaveLength(histories.length);
  });

  it('a change to onboarding not behind patched() fails replay, naming the workflow and the event', async () => {
    const outcomes = await replay([historyFromFile(V1_ONBOARDING)], { workflowsPath: fileURLToPath(new URL('./fixtures/changed-workflows.ts', import.meta.url)) });
    expect(outcomes).toHaveLength(1);
    const [outcome] = outcomes;
    expect(outcome).toMatchObject({ ok: false, kind: 'nondeterminism', workflowType: 'onboarding', workflowId: 'onboarding-G1002-evt-hire-G1002' });
    expect(outcome!.problem).toMatch(/[Nn]ondeterminism/);
    expect(outcome!.eventId).toBeGreaterThan(0);
  });
});

describe('hrsync replay', () => {
  let stack: TestStack;
  const home = mkdtempSync(join(tmpdir(), 'hrsync-replay-'));
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.stop());

  it('replays a file, a live workflow, and refuses what is not a history', async () => {
    const env = stackEnvironment(stack, home);
    const file = await runHrsync(env, 'replay', '--file', V1_ONBOARDING, '--json');
    expect(file.code).toBe(0);
    expect(JSON.parse(file.stdout)).toMatchObject({ replayed: 1, failed: 0 });

    const person = sampleRoster(isoDateOf(new Date()), 'RP')[0]!;
    stack.hris.upsertEmployee(bambooRecord(person));
    const event = hireEvent(person);
    await stack.postEvent(event);
    const id = `onboarding-${person.id}-${event.id}`;
    await stack.resultOf(id);
    const live = await runHrsync(env, 'replay', '--workflow-id', id);
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(/^ok {4}onboarding/m);

    const junk = join(home, 'not-a-history.json');
    writeFileSync(junk, '{"hello": "world"}');
    const refused = await runHrsync(env, 'replay', '--file', junk);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/has no "events" array; export one with: temporal workflow show/);
    const both = await runHrsync(env, 'replay', '--file', junk, '--dir', GOLDEN);
    expect(both.stderr).toMatch(/exactly one of --workflow-id, --file or --dir/);
  }, 240_000);
});
