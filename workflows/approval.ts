import { allHandlersFinished, condition, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { checkDecision, describePlan, type ApprovalDecision, type ApprovalOutcome, type PendingApproval } from '../domain/approval';
import type { AuditEntry } from '../domain/audit';
import { durationMs } from '../domain/durations';
import type { PlanStep } from '../domain/lms-state';
import type { ApprovalKind, ApprovalPolicy } from '../domain/organisation';
import { activities } from './activities';
import { APPROVAL_SIGNAL_DESCRIPTION, ApprovalKindKey, approvalSignal, AWAITING_APPROVAL, decideUpdate, pendingApprovalQuery, SyncStatusKey } from './definitions';

const { recordAudit, notify } = activities;

export interface ApprovalRequest {
  kind: ApprovalKind;
  policy: ApprovalPolicy;
  employeeId: string;
  eventId: string | null;
  /** What the workflow is doing, in a few words: "Onboarding of E1001 (Utility Operator at BAY)". */
  subject: string;
  reasons: string[];
  plan: PlanStep[];
  /** What a decision releases, when it is not an LMS plan (a job-change request to the HRIS). */
  changes?: string[];
}

/**
 * The one approval mechanism of every workflow: registers the `approval` signal (from the Web
 * UI), the `decide` update (from the CLI) and the `pendingApproval` query, and waits for a
 * decision with the kind's reminder, escalation and auto-rejection timers. A refused decision
 * (malformed, from someone not entitled, or when nothing is pending) changes nothing and is
 * written to the audit trail.
 */
export function approvalDesk() {
  let pending: PendingApproval | null = null;
  let outcome: ApprovalOutcome | null = null;
  const { workflowId } = workflowInfo();
  const audit = (entries: Omit<AuditEntry, 'workflowId' | 'runId'>[]) =>
    recordAudit(entries.map((e) => ({ ...e, workflowId, runId: workflowInfo().runId })));

  const accept = (decision: ApprovalDecision): ApprovalOutcome => {
    outcome = { decision: decision.decision, approver: decision.approver, reason: decision.reason ?? '', decidedAt: new Date().toISOString(), automatic: false };
    return outcome;
  };
  const refused = (input: unknown, problem: string, via: string) =>
    audit([
      {
        employeeId: pending?.employeeId ?? (workflowId.split('-')[1] ?? 'unknown'),
        eventId: pending?.eventId ?? null,
        kind: 'approval',
        action: 'decision-refused',
        result: 'refused',
        detail: { via, problem, input: typeof input === 'object' ? input : String(input) },
      },
    ]);

  setHandler(
    approvalSignal,
    async (input: unknown) => {
      const check = checkDecision(input, pending);
      if (check.ok) accept(check.decision);
      else await refused(input, check.problem, 'signal');
    },
    { description: APPROVAL_SIGNAL_DESCRIPTION },
  );
  setHandler(
    decideUpdate,
    (input: unknown) => {
      const check = checkDecision(input, pending);
      if (!check.ok) throw new Error(check.problem); // the validator has already refused it
      return accept(check.decision);
    },
    {
      description: 'The approval signal for the CLI: the same input, answered with the outcome or the reason it is refused.',
      validator: (input: unknown) => {
        const check = checkDecision(input, pending);
        if (!check.ok) throw new Error(check.problem);
      },
    },
  );
  setHandler(pendingApprovalQuery, () => pending, { description: 'The plan awaiting a decision, who may decide and by when; null when nothing waits.' });

  return {
    async request(req: ApprovalRequest): Promise<ApprovalOutcome> {
      const started = Date.now();
      const deadline = (d: string | undefined) => (d ? started + durationMs(d) : null);
      const at = { remind: deadline(req.policy.remindAfter), escalate: req.policy.escalateTo.length ? deadline(req.policy.escalateAfter) : null, reject: deadline(req.policy.rejectAfter) };
      const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
      const lines = req.changes ?? describePlan(req.plan);
      const current: PendingApproval = {
        id: workflowId,
        kind: req.kind,
        employeeId: req.employeeId,
        eventId: req.eventId,
        summary: `${req.subject} waits for ${req.kind} approval (${req.reasons.join('; ')}): ${lines.length} change${lines.length === 1 ? '' : 's'}`,
        reasons: req.reasons,
        plan: req.plan,
        requestedAt: new Date(started).toISOString(),
        approvers: [...req.policy.approvers],
        escalated: false,
        reminded: false,
        deadlines: { remindAt: iso(at.remind), escalateAt: iso(at.escalate), rejectAt: iso(at.reject) },
      };
      pending = current;
      outcome = null;
      const base = { employeeId: req.employeeId, eventId: req.eventId };
      const key = (name: string) => `${workflowId}:${workflowInfo().runId}:approval:${name}`;
      const show = () =>
        upsertMemo({
          approval: {
            summary: current.summary,
            approvers: current.approvers,
            changes: lines,
            howToDecide: 'More Actions → Send a Signal → approval, with {"decision":"approve","approver":"<you>","reason":"<why>"}',
          },
        });
      upsertSearchAttributes([
        { key: SyncStatusKey, value: AWAITING_APPROVAL },
        { key: ApprovalKindKey, value: req.kind },
      ]);
      show();
      await audit([{ ...base, kind: 'approval', action: 'requested', result: req.kind, detail: { reasons: req.reasons, plan: req.plan, approvers: current.approvers, deadlines: current.deadlines }, idempotencyKey: key('requested') }]);

      const tell = (recipients: string[], kind: string, subject: string) =>
        Promise.all(recipients.map((r) => notify({ recipientId: r, aboutEmployee: req.employeeId, kind, subject, detail: { workflowId, summary: current.summary }, idempotencyKey: key(`${kind}:${r}`) })));

      try {
        for (;;) {
          const next = [at.remind, at.escalate, at.reject].filter((t): t is number => t !== null && t > Date.now());
          const wait = next.length ? Math.min(...next) - Date.now() : undefined;
          await condition(() => outcome !== null, wait);
          if (outcome) break;
          const now = Date.now();
          if (at.reject !== null && now >= at.reject) {
            outcome = { decision: 'reject', approver: 'hrsync (approval policy)', reason: `no decision within ${req.policy.rejectAfter}`, decidedAt: new Date(now).toISOString(), automatic: true };
            break;
          }
          if (at.escalate !== null && now >= at.escalate && !current.escalated) {
            current.escalated = true;
            current.approvers = [...new Set([...current.approvers, ...req.policy.escalateTo])];
            show();
            await tell(req.policy.escalateTo, 'approval-escalated', `Escalated to you: ${current.summary}`);
            await audit([{ ...base, kind: 'approval', action: 'escalated', result: req.policy.escalateTo.join(', '), detail: { after: req.policy.escalateAfter, approvers: current.approvers }, idempotencyKey: key('escalated') }]);
          }
          if (at.remind !== null && now >= at.remind && !current.reminded) {
            current.reminded = true;
            await tell(req.policy.approvers, 'approval-reminder', `Reminder: ${current.summary}`);
            await audit([{ ...base, kind: 'approval', action: 'reminded', result: req.policy.approvers.join(', '), detail: { after: req.policy.remindAfter }, idempotencyKey: key('reminded') }]);
          }
        }
      } finally {
        pending = null;
      }
      const decided = outcome!;
      await audit([
        {
          ...base,
          kind: 'approval',
          action: decided.decision === 'approve' ? 'approved' : 'rejected',
          result: decided.approver,
          detail: { reason: decided.reason, automatic: decided.automatic, kind: req.kind, escalated: current.escalated },
          idempotencyKey: key('decided'),
        },
      ]);
      upsertSearchAttributes([{ key: SyncStatusKey, value: decided.decision === 'approve' ? 'approved' : 'rejected' }]);
      upsertMemo({ approval: { summary: current.summary, decided: `${decided.decision} by ${decided.approver}${decided.reason ? `: ${decided.reason}` : ''}` } });
      await condition(allHandlersFinished);
      return decided;
    },
  };
}
