import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { EmployeeProfile, HrEvent } from '../domain/hr-event';
import type { IdentityEvent } from '../domain/identity';
import { activities } from './activities';
import { identityEventSignal } from './definitions';

const { resolveEmployeeByLogin, submitHrEvent, recordAudit } = activities;

const SEEN_KEPT = 500;

/**
 * One workflow per identity-provider login (id `identity-<provider>-<hash of the login>`, fed by
 * signal-with-start), so that one person's events (created, then added to a group, then
 * deactivated) are taken in the order the provider published them, whatever order they were
 * delivered in. Each is resolved to an employee and turned into the canonical event it means:
 * created or activated a hire (or rehire), deactivated or suspended a termination, joining a group
 * or an application an access grant.
 */
export async function identityLifecycle(input: { provider: string; carried?: { pending: IdentityEvent[]; seen: string[] } }): Promise<void> {
  const pending: IdentityEvent[] = [...(input.carried?.pending ?? [])];
  const seen = new Set(input.carried?.seen ?? []);
  setHandler(identityEventSignal, (event) => {
    if (seen.has(event.uuid)) return;
    seen.add(event.uuid);
    pending.push(event);
  });

  for (;;) {
    await condition(() => pending.length > 0 || workflowInfo().continueAsNewSuggested);
    if (!pending.length) break;
    pending.sort((a, b) => a.published.localeCompare(b.published));
    await take(pending.shift()!);
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof identityLifecycle>({ provider: input.provider, carried: { pending, seen: [...seen].slice(-SEEN_KEPT) } });
}

async function take(event: IdentityEvent): Promise<void> {
  const base = { eventId: `${event.provider}-${event.uuid}`, workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  const profile = await resolveEmployeeByLogin(event.login);
  if (!profile) {
    await recordAudit([{ ...base, employeeId: 'unresolved', kind: 'review', action: 'identity-user-not-in-hris', result: 'needs-review', detail: { provider: event.provider, change: event.change }, idempotencyKey: `${base.eventId}:unresolved` }]);
    return;
  }
  const { terminationDate: _t, accessGroups: _a, jobMapping: _m, ...employee } = profile;
  const canonical = (type: HrEvent['type'], extra: Partial<HrEvent> = {}): HrEvent => ({
    id: base.eventId,
    type,
    source: event.provider,
    occurredAt: event.published,
    effectiveDate: event.published.slice(0, 10),
    employee: employee as EmployeeProfile,
    ...extra,
  });
  switch (event.change) {
    case 'user-created':
    case 'user-activated':
      await submitHrEvent({ event: canonical('hire', { effectiveDate: profile.startDate }), raw: JSON.stringify(event) });
      return;
    case 'user-deactivated':
    case 'user-suspended':
      await submitHrEvent({
        event: canonical('termination', { termination: { date: event.published, reasonCode: event.change === 'user-suspended' ? 'IDP_SUSPENDED' : 'IDP_DEACTIVATED' } }),
        raw: JSON.stringify(event),
      });
      return;
    case 'group-added':
    case 'app-added':
      await submitHrEvent({ event: canonical('access_grant', { access: { group: event.group! } }), raw: JSON.stringify(event) });
      return;
    default:
      // Leaving a group has no canonical event (there is no revoke); kept for the record.
      await recordAudit([{ ...base, employeeId: profile.id, kind: 'review', action: event.change, result: 'not-handled', detail: { provider: event.provider, group: event.group }, idempotencyKey: `${base.eventId}:not-handled` }]);
  }
}
