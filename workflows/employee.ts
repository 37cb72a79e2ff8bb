import {
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
  ParentClosePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import type { HrEvent } from '../domain/hr-event';
import {
  EmployeeIdKey,
  HrEventTypeKey,
  hrEventSignal,
  lifecycleQuery,
  SyncStatusKey,
  WORKFLOW_FOR_EVENT,
  type LifecycleView,
} from './definitions';

const { recordAudit } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** What one run hands to the next when history grows long. */
export interface Carried {
  pending: HrEvent[];
  seen: string[];
  recent: LifecycleView['recent'];
}

const SEEN_KEPT = 500;
const RECENT_KEPT = 20;

/**
 * One long-lived workflow per employee (id `employee-<id>`), fed by signal-with-start. It runs
 * the HR events for that person one at a time, in arrival order, each as a child workflow named
 * for what it does (onboarding, …), and ignores an event id it has already taken.
 */
export async function employeeLifecycle(input: { employeeId: string; carried?: Carried }): Promise<void> {
  const { employeeId } = input;
  const pending: HrEvent[] = [...(input.carried?.pending ?? [])];
  const seen = new Set(input.carried?.seen ?? []);
  const recent: LifecycleView['recent'] = [...(input.carried?.recent ?? [])];
  let current: LifecycleView['current'] = null;

  setHandler(hrEventSignal, (event) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    pending.push(event);
  });
  setHandler(lifecycleQuery, () => ({
    employeeId,
    current,
    pending: pending.map((e) => ({ eventId: e.id, type: e.type })),
    recent,
  }));

  for (;;) {
    await condition(() => pending.length > 0 || workflowInfo().continueAsNewSuggested);
    if (!pending.length) break;
    const event = pending.shift()!;
    const outcome = await runEvent(employeeId, event, (c) => (current = c));
    current = null;
    recent.push(outcome);
    if (recent.length > RECENT_KEPT) recent.shift();
    upsertSearchAttributes([{ key: SyncStatusKey, value: pending.length ? 'processing' : 'idle' }]);
  }

  await condition(allHandlersFinished);
  await continueAsNew<typeof employeeLifecycle>({
    employeeId,
    carried: { pending, seen: [...seen].slice(-SEEN_KEPT), recent },
  });
}

async function runEvent(
  employeeId: string,
  event: HrEvent,
  setCurrent: (c: LifecycleView['current']) => void,
): Promise<LifecycleView['recent'][number]> {
  const workflowType = WORKFLOW_FOR_EVENT[event.type];
  const base = { employeeId, eventId: event.id, workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  if (!workflowType) {
    await recordAudit([
      { ...base, kind: 'review', action: event.type, result: 'not-handled', detail: { reason: `no workflow handles ${event.type} events yet; held for review` }, idempotencyKey: `${base.workflowId}:unhandled:${event.id}` },
    ]);
    return { eventId: event.id, type: event.type, workflowId: null, outcome: 'not-handled' };
  }
  const workflowId = `${workflowType}-${employeeId}-${event.id}`;
  setCurrent({ eventId: event.id, type: event.type, workflowId });
  upsertSearchAttributes([{ key: SyncStatusKey, value: 'processing' }]);
  try {
    await executeChild(workflowType, {
      workflowId,
      args: [{ event }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: EmployeeIdKey, value: employeeId },
        { key: HrEventTypeKey, value: event.type },
        { key: SyncStatusKey, value: 'running' },
      ],
      memo: { summary: `${workflowType} for employee ${employeeId} (event ${event.id}, effective ${event.effectiveDate})` },
    });
    return { eventId: event.id, type: event.type, workflowId, outcome: 'completed' };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      await recordAudit([
        { ...base, kind: 'delivery', action: event.type, result: 'duplicate', detail: { reason: 'the event was already processed' }, idempotencyKey: `${base.workflowId}:duplicate:${event.id}` },
      ]);
      return { eventId: event.id, type: event.type, workflowId, outcome: 'duplicate' };
    }
    // The child has audited its own failure; the next event for this person still runs.
    return { eventId: event.id, type: event.type, workflowId, outcome: 'failed' };
  }
}
