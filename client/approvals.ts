import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { postgresAuditStore } from '../activities/audit';
import type { ApprovalDecision, ApprovalOutcome, PendingApproval } from '../domain/approval';
import { AWAITING_APPROVAL, decideUpdate, EmployeeIdKey, pendingApprovalQuery, SyncStatusKey } from '../workflows/definitions';

// The approval queue as the CLI sees it: found through Temporal visibility (the same search
// attributes the Web UI lists by), decided through the workflows' `decide` update.

export async function pendingApprovals(temporal: Client, employeeId?: string): Promise<PendingApproval[]> {
  const clauses = [`${SyncStatusKey.name} = "${AWAITING_APPROVAL}"`];
  if (employeeId) clauses.push(`${EmployeeIdKey.name} = "${employeeId.replace(/"/g, '')}"`);
  const found: PendingApproval[] = [];
  for await (const wf of temporal.workflow.list({ query: clauses.join(' AND ') })) {
    if (wf.status.name !== 'RUNNING') continue;
    // Visibility lags a moment behind; the workflow itself says whether it still waits.
    const pending = await temporal.workflow.getHandle(wf.workflowId, wf.runId).query(pendingApprovalQuery).catch(() => null);
    if (pending) found.push(pending);
  }
  return found.sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
}

export class DecisionRefused extends Error {}

/**
 * Sends a decision and returns the outcome. A decision the workflow refuses (not an approver,
 * nothing pending, malformed) changes nothing; it is written to the audit trail here, because a
 * refused update never reaches the workflow's history.
 */
export async function decide(temporal: Client, pool: pg.Pool, id: string, decision: ApprovalDecision): Promise<ApprovalOutcome> {
  const handle = temporal.workflow.getHandle(id);
  try {
    return await handle.executeUpdate(decideUpdate, { args: [decision] });
  } catch (err) {
    const problem = err instanceof WorkflowUpdateFailedError ? (err.cause?.message ?? err.message) : (err as Error).message;
    const employeeId = await handle
      .describe()
      .then((d) => d.typedSearchAttributes.get(EmployeeIdKey) ?? null)
      .catch(() => null);
    await postgresAuditStore(pool).record([
      { employeeId: employeeId ?? 'unknown', workflowId: id, kind: 'approval', action: 'decision-refused', result: 'refused', detail: { via: 'cli', problem, input: decision } },
    ]);
    throw new DecisionRefused(problem);
  }
}
