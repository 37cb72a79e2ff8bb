import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AuditEntry } from '../domain/audit';
import type { HrEvent } from '../domain/hr-event';
import { stepKey, type PlanStep } from '../domain/lms-state';
import { desiredLmsState, planChanges } from '../domain/plan';
import { SyncStatusKey } from './definitions';

// Read → desired state → plan → apply → audit: the path every lifecycle workflow takes.

// Vendors say how long to wait with Retry-After (used as the next retry delay); without one, back
// off to at most 10 s so a short outage costs seconds, not minutes, of HR-to-LMS delay.
const retry: ActivityOptions['retry'] = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' };
const { readHrProfile, readOrganisation, readLearner, applyPlanStep, recordAudit } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry,
});

export interface StepResult {
  key: string;
  action: PlanStep['action'];
  outcome: 'applied' | 'already-done' | 'failed';
  error?: string;
}

export interface SyncResult {
  employeeId: string;
  eventId: string;
  outcome: 'in-sync' | 'applied' | 'failed';
  steps: StepResult[];
  unresolved: string[];
}

/** Steps that shape the account itself; they go first and one at a time. */
const ACCOUNT_STEPS = new Set<PlanStep['action']>(['create_user', 'activate_user', 'update_user', 'set_branch']);

/** Today in workflow time (deterministic on replay). */
export const today = () => new Date().toISOString().slice(0, 10);

/**
 * `asOf` is the day the new state takes effect: due dates count from the later of it and the
 * start date, and a separation on or before it means the account goes inactive.
 */
export async function syncLearnerWithHr(event: HrEvent, asOf: string): Promise<SyncResult> {
  const { workflowId, runId } = workflowInfo();
  const employeeId = event.employee.id;
  const base = { employeeId, eventId: event.id, workflowId, runId };
  const key = (name: string) => `${workflowId}:${runId}:${name}`;
  const audit: AuditEntry[] = [];

  let hrProfile: Awaited<ReturnType<typeof readHrProfile>>;
  let organisation: Awaited<ReturnType<typeof readOrganisation>>;
  try {
    [hrProfile, organisation] = await Promise.all([readHrProfile(employeeId), readOrganisation()]);
  } catch (err) {
    // An HRIS record hrsync cannot read (an unknown status, a missing field) goes to a person,
    // with the raw value, instead of being guessed at.
    const cause = (err as { cause?: ApplicationFailure }).cause ?? (err as ApplicationFailure);
    await recordAudit([
      { ...base, kind: 'review', action: 'hris-profile', result: 'needs-review', detail: { type: cause.type, problem: cause.message, details: cause.details }, idempotencyKey: key('review:hris-profile') },
      { ...base, kind: 'outcome', action: event.type, result: 'failed', detail: { reason: cause.message }, idempotencyKey: key('outcome') },
    ]);
    upsertSearchAttributes([{ key: SyncStatusKey, value: 'needs-review' }]);
    throw ApplicationFailure.nonRetryable(`employee ${employeeId} needs review: ${cause.message}`, cause.type ?? 'HrisProfileUnusable');
  }
  if (!hrProfile) {
    audit.push({ ...base, kind: 'review', action: 'profile-from-event', result: 'noted', detail: { reason: 'employee not found in the HRIS; the event profile was used' }, idempotencyKey: key('review:hris') });
  }
  const profile = hrProfile ?? { ...event.employee, terminationDate: event.termination?.date ?? null };
  const desired = desiredLmsState(profile, organisation, asOf);
  desired.unresolved.forEach((problem, i) =>
    audit.push({ ...base, kind: 'review', action: 'unresolved', result: 'needs-review', detail: { problem }, idempotencyKey: key(`review:${i}`) }),
  );

  const actual = await readLearner(employeeId);
  const steps = planChanges(desired, actual);
  audit.push({
    ...base,
    kind: 'plan',
    action: 'planned',
    result: steps.length ? `${steps.length} steps` : 'in-sync',
    detail: { asOf, hadAccount: actual !== null, steps: steps.map(stepKey), desired: { active: desired.active, branch: desired.branch, groups: desired.groups, enrollments: desired.enrollments } },
    idempotencyKey: key('plan'),
  });

  const results: StepResult[] = [];
  const apply = async (step: PlanStep): Promise<StepResult> => {
    try {
      const { outcome } = await applyPlanStep({ employeeId, step });
      return { key: stepKey(step), action: step.action, outcome };
    } catch (err) {
      const cause = (err as { cause?: Error }).cause ?? (err as Error);
      return { key: stepKey(step), action: step.action, outcome: 'failed', error: cause.message };
    }
  };
  for (const step of steps.filter((s) => ACCOUNT_STEPS.has(s.action))) {
    const result = await apply(step);
    results.push(result);
    if (result.outcome === 'failed') break;
  }
  if (!results.some((r) => r.outcome === 'failed')) {
    results.push(...(await Promise.all(steps.filter((s) => !ACCOUNT_STEPS.has(s.action)).map(apply))));
  }

  const stepsByKey = new Map(steps.map((s) => [stepKey(s), s]));
  for (const r of results) {
    audit.push({ ...base, kind: 'step', action: r.action, step: stepsByKey.get(r.key), result: r.outcome, detail: r.error ? { error: r.error } : undefined, idempotencyKey: key(`step:${r.key}`) });
  }
  const failed = results.filter((r) => r.outcome === 'failed');
  const outcome: SyncResult['outcome'] = failed.length ? 'failed' : steps.length ? 'applied' : 'in-sync';
  audit.push({ ...base, kind: 'outcome', action: event.type, result: outcome, detail: { applied: results.length - failed.length, failed: failed.length, notAttempted: steps.length - results.length }, idempotencyKey: key('outcome') });
  await recordAudit(audit);
  upsertSearchAttributes([{ key: SyncStatusKey, value: outcome }]);

  if (failed.length) {
    throw ApplicationFailure.nonRetryable(
      `${failed.length} of ${steps.length} LMS changes failed for employee ${employeeId}: ${failed[0]!.key}: ${failed[0]!.error}`,
      'LmsSyncFailed',
    );
  }
  return { employeeId, eventId: event.id, outcome, steps: results, unresolved: desired.unresolved };
}
