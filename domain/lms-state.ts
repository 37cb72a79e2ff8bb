import { z } from 'zod';
import { IsoDate } from './hr-event';

// What the LMS holds for one learner, in our terms (adapters translate vendor shapes into these).

export const EnrollmentStatus = z.enum(['enrolled', 'in_progress', 'completed', 'expired']);
export type EnrollmentStatus = z.infer<typeof EnrollmentStatus>;

export const LearnerAccount = z.object({
  externalId: z.string().min(1),
  username: z.string().min(1),
  firstName: z.string(),
  lastName: z.string(),
  email: z.string(),
  role: z.string().nullable(),
  managerId: z.string().nullable(),
});
export type LearnerAccount = z.infer<typeof LearnerAccount>;

export const ActualEnrollment = z.object({
  courseId: z.string(),
  status: EnrollmentStatus,
  dueDate: IsoDate.nullable(),
  completedAt: z.string().nullable().default(null),
});
export type ActualEnrollment = z.infer<typeof ActualEnrollment>;

/** The learner as the LMS has it; `null` when no account exists. */
export const ActualLmsState = z.object({
  userId: z.string(),
  active: z.boolean(),
  account: LearnerAccount,
  branch: z.string().nullable(),
  groups: z.array(z.string()),
  enrollments: z.array(ActualEnrollment),
});
export type ActualLmsState = z.infer<typeof ActualLmsState>;

export const DesiredEnrollment = z.object({
  courseId: z.string(),
  dueDate: IsoDate,
  /** The curricula that require the course, for the audit trail. */
  requiredBy: z.array(z.string()),
});
export type DesiredEnrollment = z.infer<typeof DesiredEnrollment>;

export const DesiredLmsState = z.object({
  employeeId: z.string(),
  active: z.boolean(),
  account: LearnerAccount,
  branch: z.string().nullable(),
  groups: z.array(z.string()),
  enrollments: z.array(DesiredEnrollment),
  /** What could not be derived from the organisation's rules and needs a person to look at it. */
  unresolved: z.array(z.string()),
  /** What hrsync owns in the LMS; anything else (manual enrollments, other groups) is left alone. */
  managed: z.object({ courses: z.array(z.string()), groups: z.array(z.string()), groupPrefixes: z.array(z.string()) }),
});
export type DesiredLmsState = z.infer<typeof DesiredLmsState>;

export const PlanStep = z.discriminatedUnion('action', [
  z.object({ action: z.literal('create_user'), account: LearnerAccount, branch: z.string().nullable() }),
  z.object({ action: z.literal('activate_user') }),
  z.object({ action: z.literal('update_user'), changes: LearnerAccount.partial() }),
  z.object({ action: z.literal('set_branch'), from: z.string().nullable(), to: z.string() }),
  z.object({ action: z.literal('add_group'), group: z.string() }),
  z.object({ action: z.literal('remove_group'), group: z.string() }),
  z.object({ action: z.literal('enroll'), courseId: z.string(), dueDate: IsoDate, requiredBy: z.array(z.string()) }),
  z.object({ action: z.literal('unenroll'), courseId: z.string(), status: EnrollmentStatus }),
  z.object({ action: z.literal('deactivate_user') }),
]);
export type PlanStep = z.infer<typeof PlanStep>;
export type PlanAction = PlanStep['action'];

/** A stable name for a step within one plan, used in idempotency keys and the audit trail. */
export function stepKey(step: PlanStep): string {
  switch (step.action) {
    case 'add_group':
    case 'remove_group':
      return `${step.action}:${step.group}`;
    case 'enroll':
    case 'unenroll':
      return `${step.action}:${step.courseId}`;
    case 'set_branch':
      return `${step.action}:${step.to}`;
    default:
      return step.action;
  }
}

/** What became of one plan step. */
export interface StepResult {
  key: string;
  action: PlanAction;
  outcome: 'applied' | 'already-done' | 'failed';
  error?: string;
}

/** Steps that shape the account itself: they go first, one at a time, and a failure stops the plan. */
export const ACCOUNT_STEPS: ReadonlySet<PlanAction> = new Set<PlanAction>(['create_user', 'activate_user', 'update_user', 'set_branch']);
