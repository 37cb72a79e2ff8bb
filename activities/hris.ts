import { ApplicationFailure } from '@temporalio/common';
import { EMPLOYMENT_TYPES, type EmploymentType, type HrProfile } from '../domain/hr-event';
import { callVendor } from './http';

// The HRIS port and its BambooHR adapter. The HRIS is the system of record for the profile.

export interface Hris {
  /** The current profile, or null when the HRIS has no such employee. */
  getProfile(employeeId: string): Promise<HrProfile | null>;
  /** The employee whose work email this is (how an identity provider's login is matched), or null. */
  findEmployeeIdByEmail(email: string): Promise<string | null>;
  /** Everyone currently employed (the directory), for reconciliation. */
  listEmployeeIds(): Promise<string[]>;
}

export interface BambooHrConfig {
  baseUrl: string;
  company: string;
  apiKey: string;
}

const FIELDS = [
  'employeeNumber', 'firstName', 'lastName', 'workEmail', 'jobTitle', 'department', 'location', 'supervisorEId',
  'employmentHistoryStatus', 'hireDate', 'terminationDate', 'status', 'customJobCode', 'customContractAgency',
  'customContractStart', 'customContractEnd', 'customCoveredTasks', 'customSponsorEId',
];

const EMPLOYMENT_STATUS: Record<string, EmploymentType> = {
  'full-time': 'employee',
  'part-time': 'employee',
  employee: 'employee',
  contractor: 'contractor',
  contract: 'contractor',
  temporary: 'temporary',
  seasonal: 'temporary',
  intern: 'temporary',
};

/** A field value as BambooHR sends it: plain or `{ value }`, with "0000-00-00" meaning no date. */
function value(record: Record<string, unknown>, field: string): string | null {
  let v = record[field];
  if (v && typeof v === 'object' && 'value' in v) v = (v as { value: unknown }).value;
  if (v === undefined || v === null || v === '' || v === '0000-00-00') return null;
  return String(v);
}

export function profileFromBambooHr(record: Record<string, unknown>): HrProfile {
  const required = (field: string) => {
    const v = value(record, field);
    if (v === null) {
      throw ApplicationFailure.create({
        message: `HRIS employee ${String(record.id)} has no ${field}`,
        type: 'IncompleteHrisProfile',
        nonRetryable: true,
      });
    }
    return v;
  };
  const rawStatus = required('employmentHistoryStatus');
  const employmentType = EMPLOYMENT_STATUS[rawStatus.toLowerCase()];
  if (!employmentType) {
    // A new status in the HRIS must not be guessed at: keep the raw value and send it to review.
    throw ApplicationFailure.create({
      message: `HRIS employment status "${rawStatus}" is not one hrsync knows (${EMPLOYMENT_TYPES.join(', ')})`,
      type: 'UnmappedHrisValue',
      nonRetryable: true,
      details: [{ field: 'employmentHistoryStatus', value: rawStatus }],
    });
  }
  const contractEnd = value(record, 'customContractEnd');
  const hireDate = required('hireDate');
  let terminationDate = value(record, 'terminationDate');
  // BambooHR keeps the last termination date on a rehired employee: with the person Active
  // again and hired after it, it belongs to an earlier employment.
  if (terminationDate && value(record, 'status') === 'Active' && terminationDate.slice(0, 10) < hireDate) terminationDate = null;
  return {
    id: String(record.id),
    firstName: required('firstName'),
    lastName: required('lastName'),
    email: required('workEmail'),
    jobCode: required('customJobCode'),
    jobTitle: required('jobTitle'),
    department: required('department'),
    site: required('location'),
    managerId: value(record, 'supervisorEId'),
    employmentType,
    startDate: hireDate,
    terminationDate,
    contract: contractEnd
      ? {
          agency: value(record, 'customContractAgency') ?? 'unknown agency',
          startDate: value(record, 'customContractStart') ?? hireDate,
          endDate: contractEnd,
          coveredTasks: (value(record, 'customCoveredTasks') ?? '').split(/[;,]/).map((t) => t.trim()).filter(Boolean),
          sponsorId: value(record, 'customSponsorEId') ?? undefined,
        }
      : undefined,
  };
}

export function bambooHr(config: BambooHrConfig): Hris {
  const auth = `Basic ${Buffer.from(`${config.apiKey}:x`).toString('base64')}`;
  const api = `${config.baseUrl.replace(/\/$/, '')}/api/gateway.php/${encodeURIComponent(config.company)}/v1`;
  const directory = async () =>
    (await callVendor<{ employees: { id: string | number; workEmail?: string | null }[] }>({ system: 'HRIS', url: `${api}/employees/directory`, headers: { authorization: auth } })).body.employees;
  return {
    async getProfile(employeeId) {
      const res = await callVendor<Record<string, unknown>>({
        system: 'HRIS',
        url: `${api}/employees/${encodeURIComponent(employeeId)}?fields=${FIELDS.join(',')}`,
        headers: { authorization: auth },
        accept: [404],
      });
      return res.status === 404 ? null : profileFromBambooHr(res.body);
    },
    async findEmployeeIdByEmail(email) {
      const wanted = email.trim().toLowerCase();
      const match = (await directory()).find((e) => (e.workEmail ?? '').trim().toLowerCase() === wanted);
      return match ? String(match.id) : null;
    },
    async listEmployeeIds() {
      return (await directory()).map((e) => String(e.id));
    },
  };
}

export function hrisActivities(hris: Hris) {
  return {
    async readHrProfile(employeeId: string): Promise<HrProfile | null> {
      return hris.getProfile(employeeId);
    },
  };
}
