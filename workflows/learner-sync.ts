import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { activities, retry } from './activities';
import { withJobMapping, type MappingDecision } from '../domain/ai';
import { approvalNeed, type ApprovalOutcome, type ChangeKind } from '../domain/approval';
import type { ApprovalKind } from '../domain/organisation';
import { approvalDesk } from './approval';
import { stepAuditEntries, type AuditEntry } from '../domain/audit';
import type { HrEvent, HrProfile } from '../domain/hr-event';
import { competencyGap, contractWatch, type ContractWatch, type GapItem } from '../domain/lifecycle';
import { ACCOUNT_STEPS, stepKey, type ActualLmsState, type DesiredLmsState, type PlanStep, type StepResult } from '../domain/lms-state';
import type { Organisation } from '../domain/organisation';
import { desiredLmsState, planChanges } from '../domain/plan';
import { SyncStatusKey } from './definitions';

// Read → desired state → plan → apply → audit: the path every lifecycle workflow takes.

const { readPerson, readHrProfile, readOrganisation, readLearner, readAccessGroups, applyPlanStep, recordAudit, mapJobToCatalog } = activities;
// A plan of many steps under a rate-limited LMS can take minutes; heartbeats show it is alive
// and bring a cancellation (a superseding termination) to it within seconds.
const { applyPlan } = proxyActivities<Activities>({ startToCloseTimeout: '15m', heartbeatTimeout: '10s', retry });

export type { StepResult };

/** Steps held back until a person approves the AI mapping they come from. */
export interface HeldChanges {
  decisionId: number;
  reasons: string[];
  steps: PlanStep[];
}

export interface SyncResult {
  employeeId: string;
  eventId: string | null;
  outcome: 'in-sync' | 'applied' | 'rejected' | 'failed';
  /** The AI mapper's decision, when the job code was not in the organisation's table. */
  mapping: Pick<MappingDecision, 'decisionId' | 'mapper' | 'jobCode' | 'role' | 'confidence' | 'needsApproval'> | null;
  /** What a held AI mapping would have added; applied if the approval below approved it. */
  held: HeldChanges | null;
  /** The decision a person (or the approval policy's timer) took, when the plan needed one. */
  approval: ApprovalOutcome | null;
  steps: StepResult[];
  unresolved: string[];
  competencyGap: GapItem[];
  /** The contract timers this person now has (contractors), for the entity workflow to keep. */
  contract: ContractWatch | null;
}

/** What one lifecycle workflow is about: who, which event, and what the audit trail calls it. */
export interface SyncRequest {
  employeeId: string;
  eventId: string | null;
  action: string;
  /** Used when the HRIS does not know the person (a custom integration posting events). */
  fallbackProfile: HrProfile | null;
}

export interface SyncContext {
  request: SyncRequest;
  profile: HrProfile;
  organisation: Organisation;
  actual: ActualLmsState | null;
  desired: DesiredLmsState;
  steps: PlanStep[];
  audit: AuditEntry[];
  base: Pick<AuditEntry, 'employeeId' | 'eventId' | 'workflowId' | 'runId'>;
  key(name: string): string;
}

export interface SyncOptions {
  /** When the new state holds: due dates count from its day, separations before it close the account. */
  asOf: string;
  /** What kind of change this is, for the approval rules. */
  change: ChangeKind;
  /** Event facts the HRIS may not show yet (a termination date). */
  adjustProfile?: (profile: HrProfile) => HrProfile;
  /** Work between planning and applying (offboarding archives records here). */
  beforeApply?: (ctx: SyncContext) => Promise<void>;
}

/** Today (or now) in workflow time: deterministic on replay. */
export const today = () => new Date().toISOString().slice(0, 10);
export const now = () => new Date().toISOString();

export const requestFor = (event: HrEvent): SyncRequest => ({
  employeeId: event.employee.id,
  eventId: event.id,
  action: event.type,
  fallbackProfile: { ...event.employee, terminationDate: event.termination?.date ?? null },
});

export function auditContext(request: SyncRequest) {
  const { workflowId, runId } = workflowInfo();
  return {
    base: { employeeId: request.employeeId, eventId: request.eventId, workflowId, runId },
    key: (name: string) => `${workflowId}:${runId}:${name}`,
  };
}

const setStatus = (value: string) => upsertSearchAttributes([{ key: SyncStatusKey, value }]);

export async function syncLearnerWithHr(request: SyncRequest, options: SyncOptions): Promise<SyncResult> {
  const { employeeId } = request;
  const { base, key } = auditContext(request);
  const audit: AuditEntry[] = [];
  const desk = approvalDesk();

  // An HRIS record hrsync cannot read (an unknown status, a missing field) goes to a person,
  // with the raw value, instead of being guessed at.
  const unusable = async (cause: { type?: string | null; message: string; details?: unknown }): Promise<never> => {
    await recordAudit([
      { ...base, kind: 'review', action: 'hris-profile', result: 'needs-review', detail: { type: cause.type, problem: cause.message, details: cause.details }, idempotencyKey: key('review:hris-profile') },
      { ...base, kind: 'outcome', action: request.action, result: 'failed', detail: { reason: cause.message }, idempotencyKey: key('outcome') },
    ]);
    setStatus('needs-review');
    throw ApplicationFailure.nonRetryable(`employee ${employeeId} needs review: ${cause.message}`, cause.type ?? 'HrisProfileUnusable');
  };
  let hrProfile: HrProfile | null;
  let organisation: Organisation;
  let accessGroups: string[];
  // The LMS account as read with the rest; runs from before one read (see the golden histories) read it after the mapping.
  let learnerAsRead: ActualLmsState | null | undefined;
  if (patched('read-person-in-one-activity')) {
    const person = await readPerson(employeeId);
    if ('unusable' in person.hr) return unusable(person.hr.unusable);
    ({ organisation, accessGroups, learner: learnerAsRead } = person);
    hrProfile = person.hr.profile;
  } else {
    try {
      [hrProfile, organisation, accessGroups] = await Promise.all([readHrProfile(employeeId), readOrganisation(), readAccessGroups(employeeId)]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      return unusable((err as { cause?: ApplicationFailure }).cause ?? (err as ApplicationFailure));
    }
  }
  if (!hrProfile) {
    if (!request.fallbackProfile) {
      await recordAudit([{ ...base, kind: 'outcome', action: request.action, result: 'failed', detail: { reason: 'employee not found in the HRIS' }, idempotencyKey: key('outcome') }]);
      throw ApplicationFailure.nonRetryable(`employee ${employeeId} is not in the HRIS`, 'NotInHris');
    }
    audit.push({ ...base, kind: 'review', action: 'profile-from-event', result: 'noted', detail: { reason: 'employee not found in the HRIS; the event profile was used' }, idempotencyKey: key('review:hris') });
  }
  let profile: HrProfile = { ...(hrProfile ?? request.fallbackProfile!), accessGroups };
  if (options.adjustProfile) profile = options.adjustProfile(profile);

  // A job code the organisation's table does not know goes to the AI mapper. Its answer is
  // applied at once only when it is confident and not a leadership path; otherwise what it
  // would add waits for a person, and the rest (site, organisation-wide training) goes ahead.
  let mapping: MappingDecision | null = null;
  let mappedProfile = profile;
  if (!organisation.jobCodes.some((j) => j.code === profile.jobCode)) {
    mapping = await mapJobToCatalog({
      mapping: { jobTitle: profile.jobTitle, jobCode: profile.jobCode, department: profile.department, site: profile.site, employmentType: profile.employmentType },
      person: { firstName: profile.firstName, lastName: profile.lastName, email: profile.email, id: profile.id },
      employeeId,
      workflowId: base.workflowId!,
    });
    mappedProfile = withJobMapping(profile, mapping);
    audit.push({
      ...base,
      kind: 'decision',
      action: 'job-mapping',
      result: mapping.needsApproval ? 'held-for-approval' : 'applied',
      detail: {
        decisionId: mapping.decisionId,
        mapper: mapping.mapper,
        jobCode: mapping.jobCode,
        role: mapping.role,
        confidence: mapping.confidence,
        rationale: mapping.rationale,
        fallbackReason: mapping.fallbackReason,
        cached: mapping.cached,
        approvalReasons: mapping.approvalReasons,
      },
      idempotencyKey: key('decision:job-mapping'),
    });
  }
  const holding = !!mapping?.needsApproval;

  const desired = desiredLmsState(holding ? profile : mappedProfile, organisation, options.asOf);
  desired.unresolved.forEach((problem, i) =>
    audit.push({ ...base, kind: 'review', action: 'unresolved', result: 'needs-review', detail: { problem }, idempotencyKey: key(`review:${i}`) }),
  );
  const actual = learnerAsRead !== undefined ? learnerAsRead : await readLearner(employeeId);
  let steps = planChanges(desired, actual);
  audit.push({
    ...base,
    kind: 'plan',
    action: 'planned',
    result: steps.length ? `${steps.length} step${steps.length === 1 ? '' : 's'}` : 'in-sync',
    detail: { asOf: options.asOf, hadAccount: actual !== null, steps: steps.map(stepKey), desired: { active: desired.active, branch: desired.branch, groups: desired.groups, enrollments: desired.enrollments } },
    idempotencyKey: key('plan'),
  });

  const context: SyncContext = { request, profile, organisation, actual, desired, steps, audit, base, key };
  const applied: StepResult[] = [];
  const released: StepResult[] = [];
  let releasedSteps: PlanStep[] = [];
  let approval: ApprovalOutcome | null = null;
  let held: HeldChanges | null = null;
  const subject = `${workflowInfo().workflowType} of ${employeeId} (${profile.jobTitle} at ${profile.site})`;
  // Before waiting on a person, what has happened so far goes into the audit trail.
  const ask = async (kind: ApprovalKind, reasons: string[], plan: PlanStep[]) => {
    await recordAudit(audit.splice(0));
    return desk.request({ kind, policy: organisation.approvals.kinds[kind]!, employeeId, eventId: request.eventId, subject, reasons, plan });
  };
  // Steps applied in one activity are audited by it (see applySteps); the rest are audited here.
  const auditedByActivity = new Set<string>();
  const apply = async (phase: string, plan: PlanStep[], results: StepResult[]) => {
    // The rows so far go with the plan; they leave `audit` only once that activity has written them.
    const record = [...audit];
    if (await applySteps({ employeeId, eventId: request.eventId, phase, steps: plan, record }, results)) {
      auditedByActivity.add(phase);
      audit.splice(0, record.length);
    }
  };
  const stepRows = (phase: string, plan: PlanStep[], results: StepResult[]) => (auditedByActivity.has(phase) ? [] : stepAuditEntries(base, key(phase), plan, results));
  const auditSteps = () => [...stepRows('step', steps, applied), ...stepRows('approved-step', releasedSteps, released)];
  try {
    if (options.beforeApply) await options.beforeApply(context);
    const need = approvalNeed(organisation, holding ? profile : mappedProfile, desired, actual, options.change);
    if (need && steps.length) {
      approval = await ask(need.kind, need.reasons, steps);
      // Re-planned after the wait: the LMS may have moved meanwhile.
      steps = approval.decision === 'approve' ? planChanges(desired, await readLearner(employeeId)) : [];
    }
    await apply('step', steps, applied);

    // What a held AI mapping would add, planned against the LMS as it is now, waits for a person.
    if (holding && mapping && !applied.some((r) => r.outcome === 'failed')) {
      const mappedDesired = desiredLmsState(mappedProfile, organisation, options.asOf);
      const heldSteps = planChanges(mappedDesired, await readLearner(employeeId));
      if (heldSteps.length) {
        held = { decisionId: mapping.decisionId, reasons: mapping.approvalReasons, steps: heldSteps };
        for (const step of heldSteps) {
          audit.push({ ...base, kind: 'step', action: step.action, step, result: 'held-for-approval', detail: { decisionId: mapping.decisionId, reasons: mapping.approvalReasons }, idempotencyKey: key(`held:${stepKey(step)}`) });
        }
        const onlyLeadership = mapping.confidence >= organisation.ai.confidenceThreshold && !organisation.ai.shadowMode;
        approval = await ask(onlyLeadership ? 'leadership' : 'ai-mapping', mapping.approvalReasons, heldSteps);
        if (approval.decision === 'approve') {
          releasedSteps = planChanges(mappedDesired, await readLearner(employeeId));
          await apply('approved-step', releasedSteps, released);
        }
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Superseded (a later termination): keep the record of what was done before the cancel.
    await CancellationScope.nonCancellable(() =>
      recordAudit([
        ...audit,
        ...auditSteps(),
        { ...base, kind: 'outcome', action: request.action, result: 'superseded', detail: { applied: applied.length + released.length }, idempotencyKey: key('outcome') },
      ]),
    );
    throw err;
  }

  const results = [...applied, ...released];
  const failed = results.filter((r) => r.outcome === 'failed');
  const outcome: SyncResult['outcome'] = failed.length ? 'failed' : approval?.decision === 'reject' ? 'rejected' : results.length ? 'applied' : 'in-sync';
  audit.push(...auditSteps());
  audit.push({ ...base, kind: 'outcome', action: request.action, result: outcome, detail: { applied: results.length - failed.length, failed: failed.length, approval }, idempotencyKey: key('outcome') });
  await recordAudit(audit);
  setStatus(outcome);

  if (failed.length) {
    throw ApplicationFailure.nonRetryable(
      `${failed.length} of ${results.length} LMS changes failed for employee ${employeeId}: ${failed[0]!.key}: ${failed[0]!.error}`,
      'LmsSyncFailed',
    );
  }
  return {
    employeeId,
    eventId: request.eventId,
    outcome,
    steps: results,
    unresolved: desired.unresolved,
    competencyGap: competencyGap(desired, actual),
    contract: contractWatch(profile, organisation),
    mapping: mapping && { decisionId: mapping.decisionId, mapper: mapping.mapper, jobCode: mapping.jobCode, role: mapping.role, confidence: mapping.confidence, needsApproval: mapping.needsApproval },
    held,
    approval,
  };
}

/**
 * Applies a plan's steps and adds their results. Returns true when the steps were applied in one
 * activity (which also recorded them and `record` in the audit trail); histories from before that
 * change apply each step as its own activity, and patched() keeps them replaying.
 */
async function applySteps(plan: Parameters<typeof applyPlan>[0], results: StepResult[]): Promise<boolean> {
  if (!plan.steps.length) return false;
  if (patched('apply-plan-in-one-activity')) {
    results.push(...(await applyPlan(plan)));
    return true;
  }
  const apply = async (step: PlanStep): Promise<StepResult> => {
    try {
      const { outcome } = await applyPlanStep({ employeeId: plan.employeeId, step });
      return { key: stepKey(step), action: step.action, outcome };
    } catch (err) {
      if (isCancellation(err)) throw err;
      const cause = (err as { cause?: Error }).cause ?? (err as Error);
      return { key: stepKey(step), action: step.action, outcome: 'failed', error: cause.message };
    }
  };
  for (const step of plan.steps.filter((s) => ACCOUNT_STEPS.has(s.action))) {
    const result = await apply(step);
    results.push(result);
    if (result.outcome === 'failed') return false;
  }
  await Promise.all(
    plan.steps
      .filter((s) => !ACCOUNT_STEPS.has(s.action))
      .map(async (step) => {
        results.push(await apply(step));
      }),
  );
  return false;
}
