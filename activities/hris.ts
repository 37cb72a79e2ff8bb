import { ApplicationFailure } from '@temporalio/common';
import { EMPLOYMENT_TYPES, type EmploymentType, type HrProfile } from '../domain/hr-event';
import { HrisSkill, type JobChangeRequest } from '../domain/learning';
import { callVendor } from './http';

// The HRIS port and its BambooHR adapter. The HRIS is the system of record for the profile.

export interface Hris {
  /** The current profile, or null when the HRIS has no such employee. */
  getProfile(employeeId: string): Promise<HrProfile | null>;
  /** The employee whose work email this is (how an identity provider's login is matched), or null. */
  findEmployeeIdByEmail(email: string): Promise<string | null>;
  /** Everyone currently employed (the directory), for reconciliation. */
  listEmployeeIds(): Promise<string[]>;
  /** The skills on the employee's profile. */
  readSkills(employeeId: string): Promise<HrisSkill[]>;
  /** Puts these skills on the profile: a skill already there is updated in place, others added; the rest left alone. */
  writeSkills(employeeId: string, skills: HrisSkill[]): Promise<{ added: string[]; updated: string[]; unchanged: string[] }>;
  /** Files a job-change request for HR; filing the same request id again changes nothing. */
  fileJobChangeRequest(request: JobChangeRequest): Promise<{ outcome: 'applied' | 'already-done'; rowId: string }>;
  /** Whether a request for this move is already on the employee's record. */
  hasJobChangeRequest(employeeId: string, move: { fromJobCode: string; toJobCode: string }): Promise<boolean>;
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

// The custom tables hrsync writes (BambooHR: Settings → Custom Fields & Tables), and their fields.
export const SKILLS_TABLE = 'customSkills';
export const JOB_CHANGE_TABLE = 'customJobChangeRequests';
type Row = { id: string } & Record<string, string | null>;

const skillRow = (s: HrisSkill) => ({
  customSkillId: s.skillId,
  customSkill: s.label,
  customProficiency: s.proficiency,
  customEvidence: s.evidence.join(', '),
  customAssessedOn: s.assessedOn,
});

export function bambooHr(config: BambooHrConfig): Hris {
  const auth = `Basic ${Buffer.from(`${config.apiKey}:x`).toString('base64')}`;
  const api = `${config.baseUrl.replace(/\/$/, '')}/api/gateway.php/${encodeURIComponent(config.company)}/v1`;
  const directory = async () =>
    (await callVendor<{ employees: { id: string | number; workEmail?: string | null }[] }>({ system: 'HRIS', url: `${api}/employees/directory`, headers: { authorization: auth } })).body.employees;
  const table = (employeeId: string, name: string) => `${api}/employees/${encodeURIComponent(employeeId)}/tables/${name}`;
  const rows = async (employeeId: string, name: string) => {
    const res = await callVendor<Row[]>({ system: 'HRIS', url: table(employeeId, name), headers: { authorization: auth }, accept: [404] });
    if (res.status === 404) throw ApplicationFailure.create({ message: `HRIS has no employee ${employeeId}`, type: 'UnknownEmployee', nonRetryable: true });
    return res.body;
  };
  const post = (url: string, json: unknown) => callVendor<Row>({ system: 'HRIS', method: 'POST', url, json, headers: { authorization: auth } });
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
    async readSkills(employeeId) {
      return (await rows(employeeId, SKILLS_TABLE)).flatMap((r) => {
        const parsed = HrisSkill.safeParse({
          skillId: r.customSkillId,
          label: r.customSkill,
          proficiency: r.customProficiency,
          evidence: (r.customEvidence ?? '').split(',').map((e) => e.trim()).filter(Boolean),
          assessedOn: r.customAssessedOn,
        });
        return parsed.success ? [parsed.data] : []; // rows HR typed by hand in another shape are theirs
      });
    },
    async writeSkills(employeeId, skills) {
      const existing = await rows(employeeId, SKILLS_TABLE);
      const out = { added: [] as string[], updated: [] as string[], unchanged: [] as string[] };
      for (const skill of skills) {
        const wanted = skillRow(skill);
        const row = existing.find((r) => r.customSkillId === skill.skillId);
        if (!row) {
          await post(table(employeeId, SKILLS_TABLE), wanted);
          out.added.push(skill.skillId);
        } else if (row.customProficiency !== wanted.customProficiency || row.customEvidence !== wanted.customEvidence || row.customSkill !== wanted.customSkill) {
          await post(`${table(employeeId, SKILLS_TABLE)}/${row.id}`, wanted);
          out.updated.push(skill.skillId);
        } else out.unchanged.push(skill.skillId);
      }
      return out;
    },
    async hasJobChangeRequest(employeeId, move) {
      return (await rows(employeeId, JOB_CHANGE_TABLE)).some((r) => r.customFromJobCode === move.fromJobCode && r.customToJobCode === move.toJobCode);
    },
    async fileJobChangeRequest(request) {
      const existing = (await rows(request.employeeId, JOB_CHANGE_TABLE)).find((r) => r.customRequestId === request.requestId);
      if (existing) return { outcome: 'already-done', rowId: existing.id };
      const res = await post(table(request.employeeId, JOB_CHANGE_TABLE), {
        customRequestId: request.requestId,
        customFromJobCode: request.fromJobCode,
        customToJobCode: request.toJobCode,
        customToJobTitle: request.toJobTitle,
        customReason: request.reason,
        customApprovedBy: request.approvedBy,
        customStatus: 'Requested',
      });
      return { outcome: 'applied', rowId: String(res.body.id) };
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
