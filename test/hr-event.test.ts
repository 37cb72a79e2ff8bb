import { describe, expect, it } from 'vitest';
import { describeInvalid, HR_EVENT_TYPES, HrEvent, type HrEventType } from '../domain/hr-event';

// The canonical event (SPEC §8): every type parses; every malformed field is named in the error.

type Json = Record<string, unknown>;

function baseEvent(type: HrEventType = 'hire'): Json {
  return {
    id: 'evt-0001',
    type,
    source: 'bamboohr',
    occurredAt: '2026-11-22T08:00:00Z',
    effectiveDate: '2026-11-23',
    employee: {
      id: 'E1001',
      firstName: 'Ana',
      lastName: 'Reyes',
      email: 'ana.reyes@example.com',
      jobCode: 'CHM-OP1',
      jobTitle: 'Chemical Process Operator I',
      department: 'OPS',
      site: 'BAY',
      managerId: 'E0900',
      employmentType: 'employee',
      startDate: '2026-11-23',
    },
  };
}

const contract = { agency: 'Acme Staffing', startDate: '2026-11-23', endDate: '2027-05-31', coveredTasks: ['valve maintenance'], sponsorId: 'E0900' };

/** A valid event of each type, with what that type needs. */
function validEvent(type: HrEventType): Json {
  const event = baseEvent(type);
  const employee = event.employee as Json;
  switch (type) {
    case 'termination':
      event.termination = { date: '2026-12-31', reasonCode: 'RESIGNATION' };
      break;
    case 'access_grant':
      event.access = { group: 'okta-privileged-admins' };
      break;
    case 'contractor_start':
    case 'contract_extension':
      employee.employmentType = 'contractor';
      employee.jobCode = 'CTR-MNT';
      employee.contract = { ...contract };
      break;
  }
  return event;
}

/** A deep copy of `event` with `path` set to `value` (or removed when value is undefined). */
function withField(event: Json, path: string, value: unknown): Json {
  const copy = structuredClone(event);
  const keys = path.split('.');
  let node = copy as Json;
  for (const key of keys.slice(0, -1)) node = node[key] as Json;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

function fieldOf(input: unknown) {
  const parsed = HrEvent.safeParse(input);
  expect(parsed.success, 'expected the event to be rejected').toBe(false);
  return describeInvalid(parsed.error!);
}

describe('HrEvent: valid events', () => {
  it.each(HR_EVENT_TYPES.map((t) => [t]))('a %s event parses', (type) => {
    const input = validEvent(type);
    const parsed = HrEvent.safeParse(input);
    expect(parsed.error?.issues).toBeUndefined();
    expect(parsed.data).toMatchObject({ id: 'evt-0001', type, employee: { id: 'E1001', email: 'ana.reyes@example.com' } });
  });

  it.each([
    ['managerId null', 'employee.managerId', null],
    ['managerId absent', 'employee.managerId', undefined],
    ['an occurredAt with an offset', 'occurredAt', '2026-11-22T09:00:00+01:00'],
    ['an occurredAt with milliseconds', 'occurredAt', '2026-11-22T08:00:00.123Z'],
    ['a temporary worker', 'employee.employmentType', 'temporary'],
    ['a leap day', 'effectiveDate', '2028-02-29'],
    ['an unknown source system', 'source', 'workday'],
  ])('accepts %s', (_name, path, value) => {
    expect(HrEvent.safeParse(withField(validEvent('hire'), path, value)).success).toBe(true);
  });

  it('trims text, and defaults coveredTasks to an empty list', () => {
    const input = withField(withField(validEvent('contractor_start'), 'employee.firstName', '  Ana  '), 'employee.contract.coveredTasks', undefined);
    const event = HrEvent.parse(input);
    expect(event.employee.firstName).toBe('Ana');
    expect(event.employee.contract?.coveredTasks).toEqual([]);
  });

  it('a contract ending on its start day is accepted', () => {
    const input = withField(validEvent('contractor_start'), 'employee.contract.endDate', contract.startDate);
    expect(HrEvent.safeParse(input).success).toBe(true);
  });
});

describe('HrEvent: each missing or malformed field is named', () => {
  const REQUIRED_TOP = ['id', 'type', 'source', 'occurredAt', 'effectiveDate', 'employee'];
  const REQUIRED_EMPLOYEE = ['id', 'firstName', 'lastName', 'email', 'jobCode', 'jobTitle', 'department', 'site', 'employmentType', 'startDate'].map(
    (f) => `employee.${f}`,
  );

  it.each([...REQUIRED_TOP, ...REQUIRED_EMPLOYEE].map((f) => [f]))('missing %s', (field) => {
    const described = fieldOf(withField(validEvent('hire'), field, undefined));
    expect(described.field).toBe(field);
    expect(described.message.startsWith(`${field} `)).toBe(true);
    expect(described.issues).toHaveLength(1);
  });

  it.each<[string, string, unknown]>([
    ['id', 'id', '   '],
    ['type unknown', 'type', 'promotion'],
    ['type wrong case', 'type', 'Hire'],
    ['source empty', 'source', ''],
    ['occurredAt without a time', 'occurredAt', '2026-11-22'],
    ['occurredAt with a space', 'occurredAt', '2026-11-22 08:00'],
    ['occurredAt without a zone', 'occurredAt', '2026-11-22T08:00:00'],
    ['effectiveDate in day/month/year', 'effectiveDate', '23/11/2026'],
    ['effectiveDate with a time', 'effectiveDate', '2026-11-23T00:00:00Z'],
    ['effectiveDate that does not exist', 'effectiveDate', '2026-02-30'],
    ['effectiveDate as a number', 'effectiveDate', 20261123],
    ['employee not an object', 'employee', 'E1001'],
    ['email without @', 'employee.email', 'ana.reyes.example.com'],
    ['email with spaces', 'employee.email', 'ana reyes@example.com'],
    ['email empty', 'employee.email', ''],
    ['employmentType unknown', 'employee.employmentType', 'intern'],
    ['startDate malformed', 'employee.startDate', '2026-11'],
    ['managerId empty', 'employee.managerId', ''],
    ['jobCode a number', 'employee.jobCode', 42],
    ['firstName blank', 'employee.firstName', ' \t '],
  ])('malformed %s', (_name, field, value) => {
    const described = fieldOf(withField(validEvent('hire'), field, value));
    expect(described.field).toBe(field);
    expect(described.message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')} \\S`));
  });

  it.each<[HrEventType, string, unknown]>([
    ['termination', 'termination.date', 'tomorrow'],
    ['termination', 'termination.date', undefined],
    ['termination', 'termination.reasonCode', ''],
    ['access_grant', 'access.group', ''],
    ['access_grant', 'access.group', undefined],
    ['contractor_start', 'employee.contract.agency', undefined],
    ['contractor_start', 'employee.contract.startDate', '2026/11/23'],
    ['contractor_start', 'employee.contract.endDate', undefined],
    ['contractor_start', 'employee.contract.coveredTasks', ['ok', '']],
    ['contract_extension', 'employee.contract.sponsorId', ''],
  ])('a %s with a bad %s', (type, field, value) => {
    const described = fieldOf(withField(validEvent(type), field, value));
    expect(described.field.startsWith(field)).toBe(true);
  });

  it.each<[HrEventType, string, string, RegExp]>([
    ['termination', 'termination', 'termination', /required for a termination/],
    ['access_grant', 'access', 'access', /required for an access_grant/],
    ['contractor_start', 'employee.contract', 'employee.contract', /required for a contractor_start/],
    ['contract_extension', 'employee.contract', 'employee.contract', /required for a contract_extension/],
  ])('a %s without %s', (type, remove, field, message) => {
    const described = fieldOf(withField(validEvent(type), remove, undefined));
    expect(described.field).toBe(field);
    expect(described.message).toMatch(message);
  });

  it.each([
    ['a day before', '2026-11-22'],
    ['a year before', '2025-11-23'],
  ])('a contract whose endDate is %s the startDate', (_name, endDate) => {
    const described = fieldOf(withField(validEvent('contractor_start'), 'employee.contract.endDate', endDate));
    expect(described.field).toBe('employee.contract.endDate');
    expect(described.message).toMatch(/before the contract start date/);
  });

  it.each([
    ['null', null],
    ['a string', 'hire'],
    ['an array', [baseEvent()]],
    ['a number', 7],
  ])('a body that is %s is named (body)', (_name, input) => {
    expect(fieldOf(input).field).toBe('(body)');
  });

  it('several problems: the first is named, all are listed', () => {
    const input = withField(withField(validEvent('hire'), 'employee.email', 'nope'), 'effectiveDate', 'soon');
    const described = fieldOf(input);
    expect(described.issues.map((i) => i.field).sort()).toEqual(['effectiveDate', 'employee.email']);
    expect(described.field).toBe(described.issues[0]!.field);
    expect(described.message).toBe(`${described.issues[0]!.field} ${described.issues[0]!.message}`);
  });
});

describe('HrEvent: separations as a date or a moment within a day', () => {
  const DATE_OR_DATE_TIME = /^must be a date \(YYYY-MM-DD\) or an ISO 8601 date-time$/;

  it.each<[HrEventType, string, string]>([
    ['termination', 'termination.date', '2026-12-31'],
    ['termination', 'termination.date', '2026-12-31T14:00:00Z'],
    ['termination', 'termination.date', '2026-12-31T14:00:00-05:00'],
    ['termination', 'termination.date', '2026-12-31T14:00:00.250+05:30'],
    ['contractor_start', 'employee.contract.endDate', '2027-05-31'],
    ['contractor_start', 'employee.contract.endDate', '2027-05-31T17:00:00Z'],
    ['contractor_start', 'employee.contract.endDate', '2027-05-31T17:00:00+02:00'],
    ['contract_extension', 'employee.contract.endDate', '2027-08-31T23:59:59-07:00'],
  ])('a %s with %s = %s is accepted and kept as given', (type, field, value) => {
    const parsed = HrEvent.safeParse(withField(validEvent(type), field, value));
    expect(parsed.error?.issues).toBeUndefined();
    const kept = field === 'termination.date' ? parsed.data!.termination?.date : parsed.data!.employee.contract?.endDate;
    expect(kept).toBe(value);
  });

  it.each<[HrEventType, string, unknown]>([
    ['termination', 'termination.date', 'tomorrow'],
    ['termination', 'termination.date', ''],
    ['termination', 'termination.date', '2026-12-31T14:00:00'], // no zone
    ['termination', 'termination.date', '2026-12-31 14:00:00Z'],
    ['termination', 'termination.date', '31/12/2026'],
    ['termination', 'termination.date', '2026-02-30'],
    ['termination', 'termination.date', '2026-12-31T25:00:00Z'],
    ['termination', 'termination.date', 20261231],
    ['contractor_start', 'employee.contract.endDate', 'end of May'],
    ['contractor_start', 'employee.contract.endDate', '2027-05-31T17:00:00'], // no zone
    ['contractor_start', 'employee.contract.endDate', '2027/05/31'],
    ['contract_extension', 'employee.contract.endDate', '2027-05'],
  ])('a %s with %s = %j is rejected, naming the field', (type, field, value) => {
    const described = fieldOf(withField(validEvent(type), field, value));
    expect(described.field).toBe(field);
    expect(described.message.startsWith(`${field} `)).toBe(true);
    expect(described.message.slice(field.length + 1)).toMatch(DATE_OR_DATE_TIME);
  });

  it.each([
    ['late on the day before (UTC)', '2026-11-22T23:59:59Z'],
    ['the day before, with an offset', '2026-11-22T18:00:00-05:00'],
    ['a year before', '2025-11-23T09:00:00Z'],
  ])('a contract whose endDate date-time is on a day before the startDate (%s) is rejected', (_name, endDate) => {
    const described = fieldOf(withField(validEvent('contractor_start'), 'employee.contract.endDate', endDate));
    expect(described.field).toBe('employee.contract.endDate');
    expect(described.message).toMatch(/before the contract start date/);
    expect(described.issues).toHaveLength(1);
  });

  it.each([
    ['at midnight UTC on the start day', '2026-11-23T00:00:00Z'],
    ['later on the start day', '2026-11-23T17:00:00Z'],
    ['on the start day, with an offset', '2026-11-23T08:00:00-05:00'],
  ])('a contract whose endDate date-time is on the startDate (%s) is accepted', (_name, endDate) => {
    expect(HrEvent.safeParse(withField(validEvent('contractor_start'), 'employee.contract.endDate', endDate)).success).toBe(true);
  });
});
