import type { EmployeeProfile, HrEvent } from '../domain/hr-event';
import { addDays, instantOf, isoDateOf } from '../domain/dates';
import type { BambooEmployee } from './hris';

// A sample roster for the demo and the tests: made-up people at every site of the sample
// organisation, with example.com addresses.

type Hire = Pick<EmployeeProfile, 'firstName' | 'lastName' | 'jobCode' | 'jobTitle' | 'department' | 'site' | 'employmentType'>;

export const SAMPLE_HIRES: Hire[] = [
  { firstName: 'Ana', lastName: 'Reyes', jobCode: 'CHM-OP1', jobTitle: 'Chemical Process Operator I', department: 'OPS', site: 'BAY', employmentType: 'employee' },
  { firstName: 'Ben', lastName: 'Okafor', jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor', department: 'OPS', site: 'BAY', employmentType: 'employee' },
  { firstName: 'Chen', lastName: 'Liu', jobCode: 'MNT-TEC', jobTitle: 'Maintenance Technician', department: 'MNT', site: 'BAY', employmentType: 'employee' },
  { firstName: 'Dana', lastName: 'Whitfield', jobCode: 'PRC-TEC', jobTitle: 'Process Technician', department: 'OPS', site: 'BAY', employmentType: 'employee' },
  { firstName: 'Eli', lastName: 'Novak', jobCode: 'FLT-OP', jobTitle: 'Forklift Operator', department: 'LOG', site: 'DAY', employmentType: 'employee' },
  { firstName: 'Fatima', lastName: 'Haddad', jobCode: 'PRD-OP', jobTitle: 'Production Operator', department: 'PRD', site: 'DAY', employmentType: 'temporary' },
  { firstName: 'Greg', lastName: 'Marsh', jobCode: 'PRD-SUP', jobTitle: 'Production Supervisor', department: 'PRD', site: 'DAY', employmentType: 'employee' },
  { firstName: 'Hana', lastName: 'Sato', jobCode: 'RN', jobTitle: 'Registered Nurse', department: 'CLS', site: 'CLN', employmentType: 'employee' },
  { firstName: 'Ivan', lastName: 'Petrov', jobCode: 'MED-AST', jobTitle: 'Medical Assistant', department: 'CLS', site: 'CLN', employmentType: 'employee' },
  { firstName: 'Jade', lastName: 'Morgan', jobCode: 'HR-GEN', jobTitle: 'HR Generalist', department: 'HR', site: 'HQ', employmentType: 'employee' },
  { firstName: 'Kofi', lastName: 'Mensah', jobCode: 'FIN-ANL', jobTitle: 'Financial Analyst', department: 'FIN', site: 'HQ', employmentType: 'employee' },
  { firstName: 'Lena', lastName: 'Berg', jobCode: 'EHS-SPC', jobTitle: 'EHS Specialist', department: 'EHS', site: 'BAY', employmentType: 'employee' },
];

export function employeeProfile(index: number, hire: Hire, startDate: string, idPrefix = 'E'): EmployeeProfile {
  const id = `${idPrefix}${1001 + index}`;
  return {
    id,
    ...hire,
    email: `${hire.firstName}.${hire.lastName}.${id}@example.com`.toLowerCase(),
    managerId: null,
    startDate,
  };
}

/**
 * The same person as a BambooHR record, for seeding the HRIS simulator. Like BambooHR, the
 * status turns Inactive once a termination date has come.
 */
export function bambooRecord(profile: EmployeeProfile, terminationDate?: string): BambooEmployee {
  const status: Record<EmployeeProfile['employmentType'], string> = { employee: 'Full-Time', contractor: 'Contractor', temporary: 'Temporary' };
  return {
    id: profile.id,
    employeeNumber: profile.id,
    firstName: profile.firstName,
    lastName: profile.lastName,
    workEmail: profile.email,
    jobTitle: profile.jobTitle,
    department: profile.department,
    location: profile.site,
    supervisorEId: profile.managerId ?? null,
    employmentHistoryStatus: status[profile.employmentType],
    hireDate: profile.startDate,
    terminationDate: terminationDate ?? null,
    status: terminationDate && instantOf(terminationDate) <= Date.now() ? 'Inactive' : 'Active',
    customJobCode: profile.jobCode,
    customContractAgency: profile.contract?.agency ?? null,
    customContractStart: profile.contract?.startDate ?? null,
    customContractEnd: profile.contract?.endDate ?? null,
    customCoveredTasks: profile.contract?.coveredTasks.join(';') ?? null,
    customSponsorEId: profile.contract?.sponsorId ?? null,
  };
}

export function hireEvent(profile: EmployeeProfile, eventId = `evt-hire-${profile.id}`): HrEvent {
  return lifecycleEvent('hire', profile, { id: eventId, effectiveDate: profile.startDate });
}

/** Any HR event for a profile (the profile after the event), with sensible defaults. */
export function lifecycleEvent(
  type: HrEvent['type'],
  profile: EmployeeProfile,
  extra: { id?: string; effectiveDate?: string; termination?: HrEvent['termination']; access?: HrEvent['access'] } = {},
): HrEvent {
  return {
    id: extra.id ?? `evt-${type}-${profile.id}-${Math.random().toString(36).slice(2, 8)}`,
    type,
    source: 'api',
    occurredAt: new Date().toISOString(),
    effectiveDate: extra.effectiveDate ?? isoDateOf(new Date()),
    employee: profile,
    ...(extra.termination ? { termination: extra.termination } : {}),
    ...(extra.access ? { access: extra.access } : {}),
  };
}

/** A contractor on the sample roster's pattern: agency, covered tasks and a sponsor. */
export function contractorProfile(id: string, site: string, jobCode: 'CTR-MNT' | 'CTR-PIPE', startDate: string, endDate: string): EmployeeProfile {
  const names: Record<string, [string, string]> = { 'CTR-MNT': ['Maya', 'Quinn'], 'CTR-PIPE': ['Omar', 'Diaz'] };
  const [firstName, lastName] = names[jobCode]!;
  return {
    id,
    firstName,
    lastName,
    email: `${firstName}.${lastName}.${id}@contractor.example.com`.toLowerCase(),
    jobCode,
    jobTitle: jobCode === 'CTR-MNT' ? 'Contract Maintenance Technician' : 'Contract Pipeline Technician',
    department: 'MNT',
    site,
    managerId: 'E1002',
    employmentType: 'contractor',
    startDate,
    contract: { agency: 'Bayou Industrial Staffing', startDate, endDate, coveredTasks: jobCode === 'CTR-PIPE' ? ['OQ 0401 valve maintenance'] : ['pump overhaul'], sponsorId: 'E1002' },
  };
}

/** The sample roster with start dates a week from `today`. */
export function sampleRoster(today = isoDateOf(new Date()), idPrefix = 'E'): EmployeeProfile[] {
  const start = addDays(today, 7);
  return SAMPLE_HIRES.map((hire, i) => employeeProfile(i, hire, start, idPrefix));
}
