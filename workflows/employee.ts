import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { activities } from './activities';
import type { AuditEntry } from '../domain/audit';
import { instantOf } from '../domain/dates';
import type { HrEvent } from '../domain/hr-event';
import type { ContractWatch } from '../domain/lifecycle';
import {
  EmployeeIdKey,
  HrEventTypeKey,
  hrEventSignal,
  lifecycleQuery,
  reconcileSignal,
  SyncStatusKey,
  eventWorkflowId,
  WORKFLOW_FOR_EVENT,
  type LifecycleView,
} from './definitions';
import type { SyncResult } from './learner-sync';

const { recordAudit, notify } = activities;

/** A contractor's contract timers, kept here so they outlive every child workflow. */
export interface ContractTimers extends ContractWatch {
  reminded: boolean;
}

/** What one run hands to the next when history grows long. */
export interface Carried {
  pending: HrEvent[];
  seen: string[];
  recent: LifecycleView['recent'];
  contract: ContractTimers | null;
  reconciliations?: string[];
}

export interface EmployeeLifecycleInput {
  employeeId: string;
  carried?: Carried;
  /** Continue as new past this many history events (the server also suggests it). */
  maxHistoryEvents?: number;
}

const SEEN_KEPT = 500;
const RECENT_KEPT = 20;
const DEFAULT_MAX_HISTORY = 5000;

type Running = { eventId: string | null; type: string; workflowId: string; scope: CancellationScope; supersededBy?: string };

/**
 * One long-lived workflow per employee (id `employee-<id>`), fed by signal-with-start. It runs
 * the person's HR events one at a time, in arrival order, each as a child workflow named for
 * what it does; ignores an event id it has already taken; lets a termination supersede whatever
 * is still running or waiting; and holds a contractor's contract-end timers.
 */
export async function employeeLifecycle(input: EmployeeLifecycleInput): Promise<void> {
  const { employeeId } = input;
  const maxHistory = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY;
  const pending: HrEvent[] = [...(input.carried?.pending ?? [])];
  const seen = new Set(input.carried?.seen ?? []);
  const recent: LifecycleView['recent'] = [...(input.carried?.recent ?? [])];
  let contract: ContractTimers | null = input.carried?.contract ?? null;
  /** Reconciliation runs that asked this person's LMS state to be brought in line, in order. */
  const reconciliations: string[] = [...(input.carried?.reconciliations ?? [])];
  let running: Running | null = null;
  const { workflowId } = workflowInfo();
  const audit = (entries: Omit<AuditEntry, 'employeeId' | 'workflowId' | 'runId'>[]) =>
    recordAudit(entries.map((e) => ({ employeeId, workflowId, runId: workflowInfo().runId, ...e })));

  setHandler(hrEventSignal, (event) => {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    pending.push(event);
    if (event.type === 'termination' && running) {
      // A departure makes whatever is still running or waiting for this person moot.
      running.supersededBy = event.id;
      running.scope.cancel();
    }
  });
  setHandler(reconcileSignal, ({ runId }) => {
    if (!reconciliations.includes(runId)) reconciliations.push(runId);
  });
  setHandler(lifecycleQuery, () => ({
    employeeId,
    current: running && { eventId: running.eventId, type: running.type, workflowId: running.workflowId },
    pending: pending.map((e) => ({ eventId: e.id, type: e.type })),
    recent,
    contract: contract && { endsAt: contract.endsAt, remindAt: contract.remindAt, sponsorId: contract.sponsorId, reminded: contract.reminded },
  }));

  const remember = (entry: LifecycleView['recent'][number]) => {
    recent.push(entry);
    if (recent.length > RECENT_KEPT) recent.shift();
  };
  const keepContract = (watch: ContractWatch | null | undefined) => {
    if (watch === undefined) return;
    if (!watch) contract = null;
    else if (!contract || contract.endsAt !== watch.endsAt) contract = { ...watch, reminded: false };
  };

  async function runChild(type: string, childId: string, args: unknown[], eventId: string | null, eventType: string): Promise<{ outcome: string; result?: SyncResult }> {
    const scope = new CancellationScope();
    running = { eventId, type: eventType, workflowId: childId, scope };
    const mine = running;
    upsertSearchAttributes([{ key: SyncStatusKey, value: 'processing' }]);
    try {
      const result = await scope.run(() =>
        executeChild<(...a: unknown[]) => Promise<SyncResult>>(type, {
          workflowId: childId,
          args,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: [
            { key: EmployeeIdKey, value: employeeId },
            { key: HrEventTypeKey, value: eventType },
            { key: SyncStatusKey, value: 'running' },
          ],
          memo: { summary: `${type} for employee ${employeeId} (${eventType}${eventId ? `, event ${eventId}` : ''})` },
        }),
      );
      return { outcome: 'completed', result };
    } catch (err) {
      if (mine.supersededBy && isCancellation(err)) {
        await audit([{ eventId, kind: 'outcome', action: eventType, result: 'superseded', detail: { workflowId: childId, supersededBy: mine.supersededBy, reason: `termination ${mine.supersededBy} arrived while ${type} was still running or waiting` }, idempotencyKey: `${workflowId}:superseded:${childId}` }]);
        return { outcome: 'superseded' };
      }
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        await audit([{ eventId, kind: 'delivery', action: eventType, result: 'duplicate', detail: { reason: 'the event was already processed' }, idempotencyKey: `${workflowId}:duplicate:${childId}` }]);
        return { outcome: 'duplicate' };
      }
      // The child has audited its own failure; the next event for this person still runs.
      return { outcome: 'failed' };
    } finally {
      running = null;
    }
  }

  async function handleEvent(event: HrEvent): Promise<void> {
    if (event.type === 'termination' && contract) {
      await audit([{ eventId: event.id, kind: 'schedule', action: 'contract-timer-cancelled', result: contract.endsAt, detail: { reason: 'terminated before the contract end' }, idempotencyKey: `${workflowId}:contract-cancelled:${event.id}` }]);
      contract = null;
    }
    if (event.type === 'contract_extension' && contract) {
      // The contract is still running: only its timers move.
      const endsAt = event.employee.contract!.endDate;
      const lead = instantOf(contract.endsAt) - instantOf(contract.remindAt);
      await audit([{ eventId: event.id, kind: 'schedule', action: 'contract-extended', result: endsAt, detail: { from: contract.endsAt, to: endsAt }, idempotencyKey: `${workflowId}:extended:${event.id}` }]);
      contract = { endsAt, remindAt: new Date(instantOf(endsAt) - lead).toISOString(), sponsorId: event.employee.contract!.sponsorId ?? contract.sponsorId, reminded: false };
      remember({ eventId: event.id, type: event.type, workflowId: null, outcome: 'timer-moved' });
      return;
    }
    const type = WORKFLOW_FOR_EVENT[event.type];
    const childId = eventWorkflowId(event.type, employeeId, event.id);
    const { outcome, result } = await runChild(type, childId, [{ event }], event.id, event.type);
    if (result) keepContract(result.contract);
    remember({ eventId: event.id, type: event.type, workflowId: childId, outcome });
  }

  async function handleContractAlarm(timers: ContractTimers): Promise<void> {
    if (!timers.reminded && Date.now() >= instantOf(timers.remindAt) && Date.now() < instantOf(timers.endsAt)) {
      const subject = `Contract of ${employeeId} ends ${timers.endsAt}`;
      await notify({ recipientId: timers.sponsorId, aboutEmployee: employeeId, kind: 'contract-ending', subject, detail: { endsAt: timers.endsAt }, idempotencyKey: `${workflowId}:reminder:${timers.endsAt}` });
      await audit([{ kind: 'notification', action: 'contract-ending-reminder', result: 'queued', detail: { sponsorId: timers.sponsorId, endsAt: timers.endsAt }, idempotencyKey: `${workflowId}:reminder:${timers.endsAt}` }]);
      timers.reminded = true;
      return;
    }
    if (Date.now() >= instantOf(timers.endsAt)) {
      const childId = `contractorExpiry-${employeeId}-${timers.endsAt}`;
      const { outcome, result } = await runChild('contractorExpiry', childId, [{ employeeId, endsAt: timers.endsAt }], null, 'contract_end');
      // The HRIS may show a later end (extended without an event): then the timers move there.
      contract = null;
      if (result) keepContract(result.contract && instantOf(result.contract.endsAt) > Date.now() ? result.contract : null);
      remember({ eventId: null, type: 'contract_end', workflowId: childId, outcome });
    }
  }

  const nextAlarm = (): number | undefined => (contract ? (contract.reminded ? instantOf(contract.endsAt) : Math.min(instantOf(contract.remindAt), instantOf(contract.endsAt))) : undefined);
  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistory;

  for (;;) {
    const alarm = nextAlarm();
    if (alarm === undefined || alarm > Date.now()) {
      await condition(() => pending.length > 0 || reconciliations.length > 0 || shouldContinueAsNew(), alarm === undefined ? undefined : alarm - Date.now());
    }
    if (pending.length) {
      await handleEvent(pending.shift()!);
    } else if (reconciliations.length) {
      const runId = reconciliations.shift()!;
      const childId = `reconcileEmployee-${employeeId}-${runId}`;
      const { outcome, result } = await runChild('reconcileEmployee', childId, [{ employeeId, runId }], null, 'reconcile');
      if (result) keepContract(result.contract);
      remember({ eventId: null, type: 'reconcile', workflowId: childId, outcome });
    } else if (contract && alarm !== undefined && Date.now() >= alarm) {
      await handleContractAlarm(contract);
    } else if (shouldContinueAsNew()) {
      break;
    }
    upsertSearchAttributes([{ key: SyncStatusKey, value: pending.length ? 'processing' : contract ? 'contract-running' : 'idle' }]);
  }

  await condition(allHandlersFinished);
  await continueAsNew<typeof employeeLifecycle>({
    employeeId,
    maxHistoryEvents: input.maxHistoryEvents,
    carried: { pending, seen: [...seen].slice(-SEEN_KEPT), recent, contract, reconciliations },
  });
}
