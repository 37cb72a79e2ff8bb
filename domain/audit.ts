import { z } from 'zod';

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
