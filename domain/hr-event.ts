import { z } from 'zod';

// The one canonical event (SPEC §8). Everything vendor-shaped is normalised into this at the edge.

export const IsoDate = z.iso.date({ message: 'must be a date in the form YYYY-MM-DD' });
export const IsoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' });
/** A day, or an exact moment when HR records one (a same-day separation at 14:00). */
export const IsoDateOrDateTime = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  message: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
});

export const HR_EVENT_TYPES = [
  'hire',
  'role_change',
  'transfer',
  'termination',
  'contractor_start',
  'contract_extension',
  'access_grant',
] as const;
export const HrEventType = z.enum(HR_EVENT_TYPES);
export type HrEventType = z.infer<typeof HrEventType>;

export const EMPLOYMENT_TYPES = ['employee', 'contractor', 'temporary'] as const;
export const EmploymentType = z.enum(EMPLOYMENT_TYPES);
export type EmploymentType = z.infer<typeof EmploymentType>;

const text = z.string().trim().min(1, 'must not be empty');

export const Contract = z.object({
  agency: text,
  startDate: IsoDate,
  endDate: IsoDateOrDateTime,
  coveredTasks: z.array(text).default([]),
  sponsorId: text.optional(),
});
export type Contract = z.infer<typeof Contract>;

/** The employee's HR profile after the event. */
export const EmployeeProfile = z.object({
  id: text,
  firstName: text,
  lastName: text,
  email: z.email({ message: 'must be an email address' }),
  jobCode: text,
  jobTitle: text,
  department: text,
  site: text,
  managerId: text.nullish(),
  employmentType: EmploymentType,
  startDate: IsoDate,
  contract: Contract.optional(),
});
export type EmployeeProfile = z.infer<typeof EmployeeProfile>;

export const HrEvent = z
  .object({
    id: text,
    type: HrEventType,
    source: text,
    occurredAt: IsoDateTime,
    effectiveDate: IsoDate,
    employee: EmployeeProfile,
    termination: z.object({ date: IsoDateOrDateTime, reasonCode: text }).optional(),
    access: z.object({ group: text }).optional(),
  })
  .superRefine((event, ctx) => {
    if (event.type === 'termination' && !event.termination) {
      ctx.addIssue({ code: 'custom', path: ['termination'], message: 'is required for a termination' });
    }
    if (event.type === 'access_grant' && !event.access) {
      ctx.addIssue({ code: 'custom', path: ['access'], message: 'is required for an access_grant' });
    }
    const needsContract = event.type === 'contractor_start' || event.type === 'contract_extension';
    if (needsContract && !event.employee.contract) {
      ctx.addIssue({ code: 'custom', path: ['employee', 'contract'], message: `is required for a ${event.type}` });
    }
    const { contract } = event.employee;
    if (contract && contract.endDate.slice(0, 10) < contract.startDate) {
      ctx.addIssue({ code: 'custom', path: ['employee', 'contract', 'endDate'], message: 'is before the contract start date' });
    }
  });
export type HrEvent = z.infer<typeof HrEvent>;

/** A zod error as one line a caller can act on, naming the first offending field. */
export function describeInvalid(error: z.ZodError): { field: string; message: string; issues: { field: string; message: string }[] } {
  const issues = error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
  const first = issues[0] ?? { field: '(body)', message: 'is invalid' };
  return { field: first.field, message: `${first.field} ${first.message}`, issues };
}

/** The HR profile as the system of record knows it, including a separation when there is one. */
export const HrProfile = EmployeeProfile.extend({
  terminationDate: IsoDateOrDateTime.nullish(),
  /** Identity-provider groups the person has joined (access grants), which can carry training. */
  accessGroups: z.array(z.string()).optional(),
  /**
   * For a job code the organisation does not know: the role, groups and curricula the AI mapper
   * (or a person) decided on.
   */
  jobMapping: z.object({ role: z.string(), groups: z.array(z.string()), curricula: z.array(z.string()) }).optional(),
});
export type HrProfile = z.infer<typeof HrProfile>;
