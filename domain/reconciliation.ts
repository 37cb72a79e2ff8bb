import type { HrProfile } from './hr-event';
import type { ActualLmsState, PlanStep } from './lms-state';
import { stepKey } from './lms-state';
import type { Organisation } from './organisation';
import { desiredLmsState, planChanges } from './plan';

// Nightly reconciliation: the HRIS roster against the LMS, person by person, through the same
// desired-state and plan functions the event workflows use. Drift is sorted into what hrsync can
// fix by itself and what needs a person.

export type DriftKind =
  | 'missing-account'
  | 'inactive-account'
  | 'active-after-separation'
  | 'account-details'
  | 'wrong-branch'
  | 'wrong-groups'
  | 'missing-enrollments'
  | 'extra-enrollments';

export type HumanReason = 'not-in-hris' | 'unknown-job-code' | 'unreadable-hris-record' | 'unresolved-profile';

export interface Drift {
  employeeId: string;
  kinds: DriftKind[];
  /** The plan step names (stepKey) that would close the gap. */
  steps: string[];
  deactivates: boolean;
}

export interface NeedsHuman {
  employeeId: string;
  reason: HumanReason;
  detail: string;
}

export type Assessment = { kind: 'in-sync' } | { kind: 'drift'; drift: Drift } | { kind: 'needs-human'; needsHuman: NeedsHuman };

export function driftKinds(steps: PlanStep[], actual: ActualLmsState | null): DriftKind[] {
  // Without an account, everything else follows from creating it.
  if (!actual) return steps.length ? ['missing-account'] : [];
  const kinds = new Set<DriftKind>();
  for (const s of steps) {
    if (s.action === 'create_user') kinds.add('missing-account');
    else if (s.action === 'activate_user') kinds.add('inactive-account');
    else if (s.action === 'deactivate_user') kinds.add('active-after-separation');
    else if (s.action === 'update_user') kinds.add('account-details');
    else if (s.action === 'set_branch') kinds.add('wrong-branch');
    else if (s.action === 'add_group' || s.action === 'remove_group') kinds.add('wrong-groups');
    else if (s.action === 'enroll') kinds.add('missing-enrollments');
    else if (s.action === 'unenroll') kinds.add('extra-enrollments');
  }
  return [...kinds];
}

/**
 * One person: what the LMS should hold today against what it holds. A job code the organisation
 * does not know is left to a person here (the event workflows ask the AI mapper and an approver;
 * a nightly batch must not guess), as is an LMS account the HRIS does not know.
 */
export function assess(employeeId: string, profile: HrProfile | null, actual: ActualLmsState | null, org: Organisation, asOf: string): Assessment {
  if (!profile) {
    if (actual?.active) return { kind: 'needs-human', needsHuman: { employeeId, reason: 'not-in-hris', detail: 'an active LMS account whose employee id the HRIS does not know' } };
    return { kind: 'in-sync' };
  }
  if (!org.jobCodes.some((j) => j.code === profile.jobCode)) {
    return { kind: 'needs-human', needsHuman: { employeeId, reason: 'unknown-job-code', detail: `job code "${profile.jobCode}" is not in the organisation` } };
  }
  const desired = desiredLmsState(profile, org, asOf);
  if (desired.unresolved.length && desired.active) {
    return { kind: 'needs-human', needsHuman: { employeeId, reason: 'unresolved-profile', detail: desired.unresolved.join('; ') } };
  }
  const steps = planChanges(desired, actual);
  if (!steps.length) return { kind: 'in-sync' };
  return { kind: 'drift', drift: { employeeId, kinds: driftKinds(steps, actual), steps: steps.map(stepKey), deactivates: steps.some((s) => s.action === 'deactivate_user') } };
}

export interface ReconciliationReport {
  runId: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  checked: number;
  inSync: number;
  drift: Drift[];
  needsHuman: NeedsHuman[];
  /** Employees whose fix was handed to their employee workflow. */
  fixRequested: string[];
  /** When more accounts would close at once than the organisation allows without a person. */
  bulkDeactivation: { count: number; threshold: number; decision: 'approved' | 'rejected' | 'not-needed' } | null;
  byKind: Partial<Record<DriftKind, number>>;
}

export function countByKind(drift: Drift[]): Partial<Record<DriftKind, number>> {
  const counts: Partial<Record<DriftKind, number>> = {};
  for (const d of drift) for (const k of d.kinds) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}
