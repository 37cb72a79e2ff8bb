import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalOutcome, PendingApproval } from '../domain/approval';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { HrEvent, HrEventType } from '../domain/hr-event';
import type { IdentityEvent } from '../domain/identity';

// The names the outside world uses to talk to hrsync's workflows: the bridge, the CLI and the
// Temporal Web UI all go through these.

export const DEFAULT_TASK_QUEUE = 'hrsync';

export const entityWorkflowId = (employeeId: string) => `employee-${employeeId}`;

/** One HR event for the employee; the entity workflow applies events one at a time, in order. */
export const hrEventSignal = defineSignal<[HrEvent]>('hrEvent');

export interface LifecycleView {
  employeeId: string;
  /** The child workflow running now (an event, or `contract_end`). */
  current: { eventId: string | null; type: string; workflowId: string } | null;
  pending: { eventId: string; type: HrEventType }[];
  recent: { eventId: string | null; type: string; workflowId: string | null; outcome: string }[];
  /** A contractor's timers: the sponsor reminder and the contract end. */
  contract: { endsAt: string; remindAt: string; sponsorId: string | null; reminded: boolean } | null;
}
export const lifecycleQuery = defineQuery<LifecycleView>('lifecycle');

// Learning flowing back (workflows/learning.ts).
/** The workflow that handles one completion reported by the LMS. */
export const learningRecordWorkflowId = (completionKey: string) => `learning-${completionKey}`;
/** The renewal timers of one person's certificate in one course. */
export const recertificationWorkflowId = (employeeId: string, courseId: string) => `recertification-${employeeId}-${courseId}`;
/** A (new) completion of the course: the renewal timers move to its expiry. */
export const certifiedSignal = defineSignal<[{ completedAt: string; expiresAt: string }]>('certified');
export interface RecertificationView {
  employeeId: string;
  courseId: string;
  completedAt: string;
  expiresAt: string;
  remindAt: string;
  reenrollAt: string;
  reminded: boolean;
  reenrolled: boolean;
}
export const recertificationQuery = defineQuery<RecertificationView | null>('recertification');

// Registered on the server (dev server flags, docker-compose) so the Web UI can list by them.
export const EmployeeIdKey = defineSearchAttributeKey('EmployeeId', SearchAttributeType.KEYWORD);
export const HrEventTypeKey = defineSearchAttributeKey('HrEventType', SearchAttributeType.KEYWORD);
export const SyncStatusKey = defineSearchAttributeKey('HrsyncStatus', SearchAttributeType.KEYWORD);
export const ApprovalKindKey = defineSearchAttributeKey('ApprovalKind', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [EmployeeIdKey, HrEventTypeKey, SyncStatusKey, ApprovalKindKey];

/** The search-attribute status of a workflow waiting for a person. */
export const AWAITING_APPROVAL = 'awaiting-approval';

// Approvals. Every signal takes one JSON object: the Web UI's "Send a Signal" dialog sends exactly one.
export const APPROVAL_SIGNAL_DESCRIPTION =
  'Approve or reject the plan awaiting a decision. Input: {"decision": "approve" or "reject", "approver": "your.name", "reason": "why"}. Only the approvers named in the pending approval (query pendingApproval) may decide.';
/** From the Web UI: fire and forget (a refused decision is written to the audit trail). */
export const approvalSignal = defineSignal<[unknown]>('approval');
/** From the CLI: the same decision, answered (or refused, with the reason) synchronously. */
export const decideUpdate = defineUpdate<ApprovalOutcome, [unknown]>('decide');
export const pendingApprovalQuery = defineQuery<PendingApproval | null>('pendingApproval');

/** The child workflow type that handles each kind of HR event. */
export const WORKFLOW_FOR_EVENT: Record<HrEventType, string> = {
  hire: 'onboarding',
  contractor_start: 'onboarding',
  role_change: 'roleChange',
  transfer: 'transfer',
  termination: 'offboarding',
  access_grant: 'accessGrant',
  // While the contract runs, an extension only moves its timers; after it ran out, it reopens the account.
  contract_extension: 'onboarding',
};

/** The id of the child workflow that carries one HR event for one employee. */
export const eventWorkflowId = (type: HrEventType, employeeId: string, eventId: string) => `${WORKFLOW_FOR_EVENT[type]}-${employeeId}-${eventId}`;

/**
 * The child workflow an accepted event will start, as told to its sender: none for a contract
 * extension, which usually only moves the running contract's timers.
 */
export const expectedEventWorkflowId = (type: HrEventType, employeeId: string, eventId: string) =>
  type === 'contract_extension' ? null : eventWorkflowId(type, employeeId, eventId);

/** One identity-provider event for the identity workflow of that login, which takes them in order. */
export const identityEventSignal = defineSignal<[IdentityEvent]>('identityEvent');

/** Asks an employee's workflow to bring the LMS in line with the HRIS (nightly reconciliation). */
export const reconcileSignal = defineSignal<[{ runId: string }]>('reconcile');

export interface ReconciliationProgress {
  phase: 'reading' | 'assessing' | 'awaiting-approval' | 'fixing' | 'done';
  total: number;
  checked: number;
  drift: number;
  needsHuman: number;
}
export const reconciliationProgressQuery = defineQuery<ReconciliationProgress>('progress');
