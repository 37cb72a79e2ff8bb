import type { EmployeeProfile, HrEvent, HrProfile } from './hr-event';

// From "what the HR record was" to "what the HR record is" to the canonical events the
// difference means. Vendors that say only "employee 123 changed" (BambooHR webhooks, a nightly
// CSV, a SCIM PUT) all go through this one function, so the same change means the same events
// whichever way it arrives.

export interface ChangeContext {
  source: string;
  occurredAt: string;
  /** The day the change takes effect; default: the day it occurred. */
  effectiveDate?: string;
  /** Makes the event ids: the same delivery must give the same ids (redeliveries are then ignored). */
  idPrefix: string;
}

const JOB_FIELDS = ['jobCode', 'jobTitle', 'department'] as const;
const ACCOUNT_FIELDS = ['firstName', 'lastName', 'email', 'managerId'] as const;

function employeePart(profile: HrProfile): EmployeeProfile {
  const { terminationDate: _t, accessGroups: _a, jobMapping: _m, ...employee } = profile;
  return employee;
}

// A termination before the start date counts too (an offer withdrawn); adapters drop dates that belong to an earlier employment.
const terminated = (p: HrProfile | null) => !!p?.terminationDate;

/**
 * The events that take an employee from `previous` (null: never seen) to `current`: a hire or a
 * contractor start for someone new, a termination when a termination date appears or moves, a
 * rehire when a terminated person is active again, a contract extension, a transfer when the site
 * changes (it carries the whole new profile, job changes included), a role change when the job,
 * department or manager changes. Nothing when nothing that matters to the LMS changed.
 */
export function changeEvents(previous: HrProfile | null, current: HrProfile, ctx: ChangeContext): HrEvent[] {
  const effectiveDate = ctx.effectiveDate ?? ctx.occurredAt.slice(0, 10);
  const event = (type: HrEvent['type'], extra: Partial<HrEvent> = {}): HrEvent => ({
    id: `${ctx.idPrefix}-${type}`,
    type,
    source: ctx.source,
    occurredAt: ctx.occurredAt,
    effectiveDate,
    employee: employeePart(current),
    ...extra,
  });
  const startEvent = () => event(current.employmentType === 'contractor' && current.contract ? 'contractor_start' : 'hire', { effectiveDate: current.startDate });

  if (terminated(current)) {
    if (previous && terminated(previous) && previous.terminationDate === current.terminationDate) return [];
    return [event('termination', { effectiveDate: current.terminationDate!.slice(0, 10), termination: { date: current.terminationDate!, reasonCode: 'HRIS_TERMINATION' } })];
  }
  if (!previous) return [startEvent()];
  // A rehire: terminated before, active now with a start after that termination.
  if (terminated(previous)) return [startEvent()];

  const events: HrEvent[] = [];
  if (current.site !== previous.site) events.push(event('transfer'));
  else if (JOB_FIELDS.some((f) => current[f] !== previous[f]) || ACCOUNT_FIELDS.some((f) => (current[f] ?? null) !== (previous[f] ?? null))) {
    events.push(event('role_change'));
  }
  const oldEnd = previous.contract?.endDate;
  const newEnd = current.contract?.endDate;
  if (current.employmentType === 'contractor' && newEnd && oldEnd && newEnd !== oldEnd) events.push(event('contract_extension'));
  if (current.employmentType === 'contractor' && newEnd && !oldEnd) events.push(startEvent());
  return events;
}
