import { z } from 'zod';
import { stepKey, type PlanStep, type StepResult } from './lms-state';

// One row of the audit trail: what happened to whom, why, and in which workflow run.

export const AuditKind = z.enum(['delivery', 'plan', 'step', 'decision', 'approval', 'outcome', 'review', 'report', 'notification', 'schedule', 'learning']);
export type AuditKind = z.infer<typeof AuditKind>;

export const AuditEntry = z.object({
  employeeId: z.string(),
  eventId: z.string().nullish(),
  workflowId: z.string().nullish(),
  runId: z.string().nullish(),
  kind: AuditKind,
  action: z.string(),
  step: z.unknown().optional(),
  result: z.string(),
  detail: z.unknown().optional(),
  /** Makes a retried write land once. */
  idempotencyKey: z.string().nullish(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export type AuditRecord = AuditEntry & { id: number; recordedAt: string };

/**
 * Audit rows for applied steps, in plan order. `keyPrefix` is `<workflow>:<run>:<phase>`, so the
 * workflow and the activity that applied the steps name the same row the same way.
 */
export function stepAuditEntries(
  base: Pick<AuditEntry, 'employeeId' | 'eventId' | 'workflowId' | 'runId'>,
  keyPrefix: string,
  steps: PlanStep[],
  results: StepResult[],
): AuditEntry[] {
  const stepsByKey = new Map(steps.map((s) => [stepKey(s), s]));
  const order = new Map(steps.map((s, i) => [stepKey(s), i]));
  return [...results]
    .sort((a, b) => order.get(a.key)! - order.get(b.key)!)
    .map((r) => ({ ...base, kind: 'step' as const, action: r.action, step: stepsByKey.get(r.key), result: r.outcome, detail: r.error ? { error: r.error } : undefined, idempotencyKey: `${keyPrefix}:${r.key}` }));
}
