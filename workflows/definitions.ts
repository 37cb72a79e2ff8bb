import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { HrEvent, HrEventType } from '../domain/hr-event';

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

// Registered on the server (dev server flags, docker-compose) so the Web UI can list by them.
export const EmployeeIdKey = defineSearchAttributeKey('EmployeeId', SearchAttributeType.KEYWORD);
export const HrEventTypeKey = defineSearchAttributeKey('HrEventType', SearchAttributeType.KEYWORD);
export const SyncStatusKey = defineSearchAttributeKey('HrsyncStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [EmployeeIdKey, HrEventTypeKey, SyncStatusKey];

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
