import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { addDays } from '../domain/dates';
import { IsoDateTime, type HrProfile } from '../domain/hr-event';
import { closeOut, competencyGap, contractWatch, outstandingTraining, type GapItem } from '../domain/lifecycle';
import { loadOrganisation, SAMPLE_ORGANISATION_PATH } from '../domain/load-organisation';
import type { ActualEnrollment, ActualLmsState, DesiredLmsState, EnrollmentStatus, PlanStep } from '../domain/lms-state';
import { Organisation } from '../domain/organisation';
import { desiredLmsState, planChanges, separationOf } from '../domain/plan';
import { profile, START, TODAY } from './support/profiles';

// Table-driven unit tests of the pure lifecycle answers (SPEC §2, §10): the competency gap, the
// contract timers, the close-out on separation, separations at a moment within a day, and
// training tied to identity-provider access groups. In-memory only: no Temporal, no database.

const org = loadOrganisation(SAMPLE_ORGANISATION_PATH);


type Contract = NonNullable<HrProfile['contract']>;
const contract = (endDate: string, overrides: Partial<Contract> = {}): Contract => ({
  agency: 'Acme Staffing',
  startDate: '2026-06-01',
  endDate,
  coveredTasks: [],
  ...overrides,
});

/** A contractor (contract pipeline technician at Dayton) whose contract runs from 2026-06-01. */
const contractor = (endDate: string, overrides: Partial<HrProfile> = {}, contractOverrides: Partial<Contract> = {}) =>
  profile({
    jobCode: 'CTR-PIPE',
    jobTitle: 'Contract Pipeline Technician',
    department: 'MNT',
    site: 'DAY',
    employmentType: 'contractor',
    startDate: '2026-06-01',
    contract: contract(endDate, contractOverrides),
    ...overrides,
  });

/** Head-office administrative assistant: nothing about the role or site touches the control system. */
const officeProfile = (overrides: Partial<HrProfile> = {}) =>
  profile({ jobCode: 'ADM-AST', jobTitle: 'Administrative Assistant', department: 'ADM', site: 'HQ', ...overrides });

function enrollment(courseId: string, status: EnrollmentStatus, completedAt: string | null = null, dueDate: string | null = '2025-01-01'): ActualEnrollment {
  return { courseId, status, dueDate, completedAt };
}

/** What the LMS holds when it already matches `desired`: every required course enrolled, nothing else. */
function matchingActual(desired: DesiredLmsState, overrides: Partial<ActualLmsState> = {}): ActualLmsState {
  return {
    userId: `lms-${desired.employeeId}`,
    active: true,
    account: { ...desired.account },
    branch: desired.branch,
    groups: [...desired.groups],
    enrollments: desired.enrollments.map((e) => ({ courseId: e.courseId, status: 'enrolled' as const, dueDate: e.dueDate, completedAt: null })),
    ...overrides,
  };
}

/** An LMS account holding exactly these enrollments. */
const actualWith = (enrollments: ActualEnrollment[]): ActualLmsState => ({
  userId: 'lms-E1001',
  active: true,
  account: desiredLmsState(profile(), org, TODAY).account,
  branch: 'BR-BAY',
  groups: [],
  enrollments,
});

const courseIds = (desired: DesiredLmsState) => desired.enrollments.map((e) => e.courseId);
const gapOf = (items: GapItem[]) => items.map((g) => [g.courseId, g.status]);

/** The sample organisation, as raw YAML, changed and validated again. */
function sampleWith(change: (raw: Record<string, any>) => void): Organisation {
  const raw = parseYaml(readFileSync(SAMPLE_ORGANISATION_PATH, 'utf8'));
  change(raw);
  return Organisation.parse(raw);
}

// Chemical Process Operator I at Baytown (PSM-covered): the nine courses the role and site require.
const CHM_OP1_AT_BAY = ['COC-100', 'EAP-101', 'EHS-101', 'HAZ-101', 'HAZ-BAY', 'IND-BAY', 'PSM-201', 'SEC-100', 'WEL-100'];

// Since 08069d9 the competency gap is what a change opens: requirements not yet assigned or whose
// certificate lapsed. `outstandingTraining` keeps the wider answer (everything without a completed
// record, with where the person stands), which the close-out reports.
describe.each([
  ['outstandingTraining', outstandingTraining, ['not-enrolled', 'enrolled', 'in_progress', 'expired']],
  ['competencyGap', competencyGap, ['not-enrolled', 'expired']],
] as const)('%s', (_fn, gapFn, listed) => {
  const desired = desiredLmsState(profile(), org, TODAY);
  const lists = (status: GapItem['status']) => (listed as readonly string[]).includes(status);

  it('the sample desired state is the one these cases are written against', () => {
    expect(courseIds(desired)).toEqual(CHM_OP1_AT_BAY);
  });

  it.each<[string, EnrollmentStatus | null, string | null, GapItem['status'] | null]>([
    // case, status in the LMS (null: no record), completedAt, status in the gap (null: never listed)
    ['no record at all', null, null, 'not-enrolled'],
    ['enrolled, not started', 'enrolled', null, 'enrolled'],
    ['in progress', 'in_progress', null, 'in_progress'],
    ['completed once but since expired', 'expired', '2023-01-10T09:00:00Z', 'expired'],
    ['completed', 'completed', '2026-11-20T10:00:00Z', null],
  ])('PSM-201 %s', (_name, status, completedAt, inGap) => {
    const others = desired.enrollments.filter((e) => e.courseId !== 'PSM-201').map((e) => enrollment(e.courseId, 'completed', '2026-11-01T08:00:00Z'));
    const actual = actualWith(status ? [...others, enrollment('PSM-201', status, completedAt)] : others);
    const want = desired.enrollments.find((e) => e.courseId === 'PSM-201')!;
    expect(gapFn(desired, actual)).toEqual(
      inGap && lists(inGap) ? [{ courseId: 'PSM-201', dueDate: want.dueDate, requiredBy: want.requiredBy, status: inGap }] : [],
    );
  });

  it('a mix: requirements without a completed record are listed with where the person stands, completed ones never', () => {
    const actual = actualWith([
      enrollment('EHS-101', 'completed', '2026-11-20T10:00:00Z'),
      enrollment('EAP-101', 'in_progress'),
      enrollment('HAZ-101', 'expired', '2023-05-05T12:00:00Z'),
      enrollment('IND-BAY', 'enrolled'),
      enrollment('COC-100', 'completed', '2026-11-21T10:00:00Z'),
      enrollment('LOTO-201', 'enrolled'), // not required: never part of it
    ]);
    const gap = gapFn(desired, actual);
    const all: [string, GapItem['status']][] = [
      ['EAP-101', 'in_progress'],
      ['HAZ-101', 'expired'],
      ['HAZ-BAY', 'not-enrolled'],
      ['IND-BAY', 'enrolled'],
      ['PSM-201', 'not-enrolled'],
      ['SEC-100', 'not-enrolled'],
      ['WEL-100', 'not-enrolled'],
    ];
    expect(gapOf(gap)).toEqual(all.filter(([, status]) => lists(status)));
    // due dates and the curricula that require each course come from the desired state
    for (const item of gap) {
      const want = desired.enrollments.find((e) => e.courseId === item.courseId)!;
      expect(item).toMatchObject({ dueDate: want.dueDate, requiredBy: want.requiredBy });
    }
  });

  it('everything completed: empty', () => {
    const actual = actualWith(desired.enrollments.map((e) => enrollment(e.courseId, 'completed', '2026-11-20T10:00:00Z')));
    expect(gapFn(desired, actual)).toEqual([]);
  });

  it('everything assigned and under way: empty only for the competency gap', () => {
    const actual = actualWith(desired.enrollments.map((e, i) => enrollment(e.courseId, i % 2 ? 'enrolled' : 'in_progress')));
    expect(gapFn(desired, actual)).toHaveLength(lists('enrolled') ? desired.enrollments.length : 0);
  });

  it('no LMS account (null): every requirement is listed as not-enrolled, in the order of desired', () => {
    expect(gapFn(desired, null)).toEqual(
      desired.enrollments.map((e) => ({ courseId: e.courseId, dueDate: e.dueDate, requiredBy: e.requiredBy, status: 'not-enrolled' })),
    );
  });

  it('an LMS account with no enrollments: the same as null', () => {
    expect(gapFn(desired, actualWith([]))).toEqual(gapFn(desired, null));
  });

  it('the order follows desired, not the LMS and not the alphabet', () => {
    const handMade: DesiredLmsState = {
      ...desired,
      enrollments: [
        { courseId: 'ZZ-9', dueDate: '2026-12-01', requiredBy: ['z'] },
        { courseId: 'AA-1', dueDate: '2026-12-08', requiredBy: ['a'] },
        { courseId: 'MM-5', dueDate: '2026-12-31', requiredBy: ['m'] },
        { courseId: 'KK-3', dueDate: '2026-12-31', requiredBy: ['k'] },
        { courseId: 'BB-2', dueDate: '2026-12-02', requiredBy: ['b'] },
        { courseId: 'CC-4', dueDate: '2026-12-02', requiredBy: ['c'] },
      ],
    };
    const actual = actualWith([
      enrollment('CC-4', 'expired', '2024-01-01T08:00:00Z'),
      enrollment('MM-5', 'in_progress'),
      enrollment('BB-2', 'enrolled'),
      enrollment('AA-1', 'completed', '2026-11-01T08:00:00Z'),
    ]);
    const all: [string, GapItem['status']][] = [
      ['ZZ-9', 'not-enrolled'],
      ['MM-5', 'in_progress'],
      ['KK-3', 'not-enrolled'],
      ['BB-2', 'enrolled'],
      ['CC-4', 'expired'],
    ];
    expect(gapOf(gapFn(handMade, actual))).toEqual(all.filter(([, status]) => lists(status)));
  });
});

describe('contractWatch', () => {
  it.each<[string, HrProfile]>([
    ['an employee', profile()],
    ['an employee with a contract on file', profile({ contract: contract('2027-05-31') })],
    ['a temporary worker', profile({ employmentType: 'temporary' })],
    ['a temporary worker with a contract on file', profile({ employmentType: 'temporary', contract: contract('2027-05-31') })],
    ['a contractor without a contract', contractor('2027-05-31', { contract: undefined })],
    ['a contractor terminated before the contract end', contractor('2027-05-31', { terminationDate: '2026-12-01' })],
    ['a contractor terminated on the day the contract ends', contractor('2027-05-31', { terminationDate: '2027-05-31' })],
  ])('%s: null', (_name, p) => {
    expect(contractWatch(p, org)).toBeNull();
  });

  it.each<[string, HrProfile, { endsAt: string; remindAt: string; sponsorId: string | null }]>([
    // the sample organisation reminds the sponsor 14 days before the end
    [
      'a date: its midnight UTC, 14 days earlier',
      contractor('2027-05-31', { managerId: 'E0800' }, { sponsorId: 'E0900' }),
      { endsAt: '2027-05-31', remindAt: '2027-05-17T00:00:00Z', sponsorId: 'E0900' },
    ],
    [
      'a date-time in UTC, kept as given',
      contractor('2027-05-31T17:00:00Z', {}, { sponsorId: 'E0900' }),
      { endsAt: '2027-05-31T17:00:00Z', remindAt: '2027-05-17T17:00:00Z', sponsorId: 'E0900' },
    ],
    [
      'a date-time with an offset, kept as given; the reminder is the same instant 14 days earlier',
      contractor('2027-05-31T17:00:00+02:00', {}, { sponsorId: 'E0900' }),
      { endsAt: '2027-05-31T17:00:00+02:00', remindAt: '2027-05-17T15:00:00Z', sponsorId: 'E0900' },
    ],
    [
      'a date-time late in the evening west of UTC (the reminder is on the next UTC day)',
      contractor('2027-05-31T22:30:00-05:00', {}, { sponsorId: 'E0900' }),
      { endsAt: '2027-05-31T22:30:00-05:00', remindAt: '2027-05-18T03:30:00Z', sponsorId: 'E0900' },
    ],
    [
      'across a month boundary',
      contractor('2027-03-05', {}, { sponsorId: 'E0900' }),
      { endsAt: '2027-03-05', remindAt: '2027-02-19T00:00:00Z', sponsorId: 'E0900' },
    ],
    [
      'across a year boundary',
      contractor('2027-01-10', {}, { sponsorId: 'E0900' }),
      { endsAt: '2027-01-10', remindAt: '2026-12-27T00:00:00Z', sponsorId: 'E0900' },
    ],
    ['no sponsor: the manager', contractor('2027-05-31', { managerId: 'E0800' }), { endsAt: '2027-05-31', remindAt: '2027-05-17T00:00:00Z', sponsorId: 'E0800' }],
    ['no sponsor and no manager (null)', contractor('2027-05-31', { managerId: null }), { endsAt: '2027-05-31', remindAt: '2027-05-17T00:00:00Z', sponsorId: null }],
    [
      'no sponsor and no manager (absent)',
      contractor('2027-05-31', { managerId: undefined }),
      { endsAt: '2027-05-31', remindAt: '2027-05-17T00:00:00Z', sponsorId: null },
    ],
    [
      'a termination date after the contract end leaves the contract end in charge',
      contractor('2027-05-31', { terminationDate: '2027-06-30' }, { sponsorId: 'E0900' }),
      { endsAt: '2027-05-31', remindAt: '2027-05-17T00:00:00Z', sponsorId: 'E0900' },
    ],
    [
      'a contract that has already ended still reports its timers',
      contractor('2026-11-01', {}, { sponsorId: 'E0900' }),
      { endsAt: '2026-11-01', remindAt: '2026-10-18T00:00:00Z', sponsorId: 'E0900' },
    ],
  ])('a contractor, end as %s', (_name, p, expected) => {
    const watch = contractWatch(p, org);
    expect(watch).not.toBeNull();
    expect(Object.keys(watch!).sort()).toEqual(['endsAt', 'remindAt', 'sponsorId']);
    expect(watch!.endsAt).toBe(expected.endsAt);
    expect(watch!.sponsorId).toBe(expected.sponsorId);
    expect(IsoDateTime.safeParse(watch!.remindAt).success, `${watch!.remindAt} is an ISO date-time`).toBe(true);
    expect(new Date(watch!.remindAt).toISOString()).toBe(new Date(expected.remindAt).toISOString());
  });

  it.each<[string, number, string, string]>([
    // reminderDaysBeforeEnd, endDate, expected remindAt
    ['0 days, a date: the reminder is the end instant itself', 0, '2027-05-31', '2027-05-31T00:00:00Z'],
    ['0 days, a date-time with an offset: the reminder is the end instant itself', 0, '2027-05-31T17:00:00+02:00', '2027-05-31T15:00:00Z'],
    ['1 day', 1, '2027-05-31', '2027-05-30T00:00:00Z'],
    ['30 days', 30, '2027-05-31T09:15:00Z', '2027-05-01T09:15:00Z'],
  ])('the organisation sets the reminder: %s', (_name, reminderDaysBeforeEnd, endDate, remindAt) => {
    const custom = sampleWith((raw) => {
      raw.contractors = { reminderDaysBeforeEnd };
    });
    expect(custom.contractors.reminderDaysBeforeEnd).toBe(reminderDaysBeforeEnd);
    const watch = contractWatch(contractor(endDate, {}, { sponsorId: 'E0900' }), custom)!;
    expect(watch.endsAt).toBe(endDate);
    expect(Date.parse(watch.remindAt)).toBe(Date.parse(remindAt));
    if (reminderDaysBeforeEnd === 0) expect(Date.parse(watch.remindAt)).toBe(Date.parse(endDate.length === 10 ? `${endDate}T00:00:00Z` : endDate));
  });
});

describe('closeOut', () => {
  describe('separatedOn is the day of the separation', () => {
    it.each<[string, HrProfile, string | undefined, string]>([
      // case, profile, separatedAt passed in (undefined: the default, separationOf(profile)), separatedOn
      ['a termination date (default)', profile({ startDate: '2025-03-03', terminationDate: TODAY }), undefined, TODAY],
      ['a termination date-time (default)', profile({ startDate: '2025-03-03', terminationDate: '2026-11-22T14:00:00Z' }), undefined, TODAY],
      ['a termination date-time with an offset (default)', profile({ startDate: '2025-03-03', terminationDate: '2026-11-22T14:00:00-06:00' }), undefined, TODAY],
      // 20:00 at UTC-6 is already 02:00Z the next day: the date part is the day as written
      ['a termination date-time in the evening west of UTC (default)', profile({ startDate: '2025-03-03', terminationDate: '2026-11-22T20:00:00-06:00' }), undefined, TODAY],
      ['a contract end date (default)', contractor('2026-11-20'), undefined, '2026-11-20'],
      ['a contract end date-time (default)', contractor('2026-11-20T17:00:00Z'), undefined, '2026-11-20'],
      ['a date passed in', profile({ startDate: '2025-03-03' }), '2026-10-31', '2026-10-31'],
      ['a date-time passed in', profile({ startDate: '2025-03-03' }), '2026-10-31T16:45:00Z', '2026-10-31'],
      ['a date-time passed in wins over the profile', profile({ startDate: '2025-03-03', terminationDate: TODAY }), '2026-10-31T16:45:00Z', '2026-10-31'],
    ])('%s', (_name, p, separatedAt, separatedOn) => {
      const report = separatedAt === undefined ? closeOut(p, org, null) : closeOut(p, org, null, separatedAt);
      expect(report.separatedOn).toBe(separatedOn);
    });
  });

  describe('archive: one record per enrollment, kept for the course retention period after the separation', () => {
    const SEPARATED = '2026-11-22';

    it.each<[string, string, string]>([
      // course, why, retentionUntil
      ['BBP-201', 'bloodborne pathogens records are kept 3 years (1910.1030)', '2029-11-22'],
      ['HIPAA-101', 'HIPAA documentation is kept 6 years (164.530)', '2032-11-22'],
      ['HAZ-101', 'HazCom records are kept 30 years', '2056-11-22'],
      ['HAZ-BAY', 'site HazCom records are kept 30 years', '2056-11-22'],
      ['EHS-101', 'a catalog course with no retentionYears given: 5 years', '2031-11-22'],
      ['PSM-201', 'a catalog course with no retentionYears given: 5 years', '2031-11-22'],
      ['VENDOR-999', 'a course not in the catalog: the organisation default (5)', '2031-11-22'],
    ])('%s: %s', (courseId, _why, retentionUntil) => {
      const p = profile({ startDate: '2025-03-03', terminationDate: SEPARATED });
      const report = closeOut(p, org, actualWith([enrollment(courseId, 'completed', '2025-03-05T10:00:00Z', '2025-03-03')]));
      expect(report.archive).toEqual([{ courseId, status: 'completed', completedAt: '2025-03-05T10:00:00Z', dueDate: '2025-03-03', retentionUntil }]);
    });

    it('a separation date-time counts from its day', () => {
      const p = profile({ startDate: '2025-03-03', terminationDate: '2026-11-22T23:15:00Z' });
      const report = closeOut(p, org, actualWith([enrollment('BBP-201', 'completed', '2025-03-05T10:00:00Z')]));
      expect(report.archive.map((r) => r.retentionUntil)).toEqual(['2029-11-22']);
    });

    it.each<[string, number, string, string]>([
      // course, the organisation default, why, retentionUntil
      ['VENDOR-999', 7, 'a course not in the catalog takes the organisation default', '2033-11-22'],
      ['VENDOR-999', 1, 'a course not in the catalog takes the organisation default', '2027-11-22'],
      ['EHS-101', 7, 'a catalog course with no retentionYears of its own takes the organisation default', '2033-11-22'],
      ['BBP-201', 7, 'a catalog course with its own retentionYears keeps it', '2029-11-22'],
    ])(
      '%s with defaultRetentionYears %s: %s',
      (courseId, defaultRetentionYears, _why, retentionUntil) => {
        const custom = sampleWith((raw) => {
          raw.defaultRetentionYears = defaultRetentionYears;
        });
        expect(custom.defaultRetentionYears).toBe(defaultRetentionYears);
        const report = closeOut(profile({ startDate: '2025-03-03' }), custom, actualWith([enrollment(courseId, 'enrolled')]), SEPARATED);
        expect(report.archive.map((r) => [r.courseId, r.retentionUntil])).toEqual([[courseId, retentionUntil]]);
      },
    );

    it('every enrollment is archived with its status, completion and due date, whatever its status and whether or not still required', () => {
      const enrollments = [
        enrollment('EHS-101', 'completed', '2025-03-05T10:00:00Z', '2025-03-03'),
        enrollment('PSM-201', 'in_progress', null, '2025-03-03'),
        enrollment('HAZ-101', 'expired', '2023-01-10T09:00:00Z', '2023-01-09'),
        enrollment('LOTO-201', 'enrolled', null, null),
        enrollment('VENDOR-999', 'enrolled', null, '2026-12-31'),
      ];
      const report = closeOut(profile({ startDate: '2025-03-03', terminationDate: SEPARATED }), org, actualWith(enrollments));
      expect(report.archive).toEqual([
        { courseId: 'EHS-101', status: 'completed', completedAt: '2025-03-05T10:00:00Z', dueDate: '2025-03-03', retentionUntil: '2031-11-22' },
        { courseId: 'PSM-201', status: 'in_progress', completedAt: null, dueDate: '2025-03-03', retentionUntil: '2031-11-22' },
        { courseId: 'HAZ-101', status: 'expired', completedAt: '2023-01-10T09:00:00Z', dueDate: '2023-01-09', retentionUntil: '2056-11-22' },
        { courseId: 'LOTO-201', status: 'enrolled', completedAt: null, dueDate: null, retentionUntil: '2031-11-22' },
        { courseId: 'VENDOR-999', status: 'enrolled', completedAt: null, dueDate: '2026-12-31', retentionUntil: '2031-11-22' },
      ]);
    });

    it.each<[string, ActualLmsState | null]>([
      ['no LMS account', null],
      ['an account with no enrollments', actualWith([])],
    ])('%s: nothing to archive', (_name, actual) => {
      expect(closeOut(profile({ startDate: '2025-03-03', terminationDate: SEPARATED }), org, actual).archive).toEqual([]);
    });
  });

  describe('incompleteMandatory: what the role and site required while employed, not completed', () => {
    const done = (courseId: string) => enrollment(courseId, 'completed', '2025-03-05T10:00:00Z');

    it.each<[string, HrProfile, ActualLmsState | null, [string, GapItem['status']][]]>([
      [
        'an operator terminated today with part of the training done',
        profile({ startDate: '2025-03-03', terminationDate: TODAY }),
        actualWith([
          done('EHS-101'),
          done('EAP-101'),
          done('IND-BAY'),
          done('HAZ-101'),
          done('HAZ-BAY'),
          enrollment('PSM-201', 'in_progress'),
          done('WEL-100'),
          enrollment('COC-100', 'expired', '2025-03-05T10:00:00Z'),
          enrollment('SEC-100', 'enrolled'),
        ]),
        [
          ['COC-100', 'expired'],
          ['PSM-201', 'in_progress'],
          ['SEC-100', 'enrolled'],
        ],
      ],
      ['an operator terminated with everything completed', profile({ startDate: '2025-03-03', terminationDate: TODAY }), actualWith(CHM_OP1_AT_BAY.map(done)), []],
      [
        'an operator terminated with no LMS account',
        profile({ startDate: '2025-03-03', terminationDate: TODAY }),
        null,
        CHM_OP1_AT_BAY.map((c) => [c, 'not-enrolled'] as [string, GapItem['status']]),
      ],
      [
        'a termination at a moment within the day (the account is inactive by then, the requirements are not)',
        profile({ startDate: '2025-03-03', terminationDate: '2026-11-22T14:00:00Z' }),
        actualWith(CHM_OP1_AT_BAY.filter((c) => c !== 'HAZ-BAY').map(done)),
        [['HAZ-BAY', 'not-enrolled']],
      ],
      [
        'a contractor whose contract has ended: contractor safety, site and covered-task qualifications',
        contractor('2026-11-20'),
        actualWith([done('CON-100'), enrollment('OQ-192', 'in_progress')]),
        [
          ['EAP-101', 'not-enrolled'],
          ['HAZ-101', 'not-enrolled'],
          ['HAZ-DAY', 'not-enrolled'],
          ['IND-DAY', 'not-enrolled'],
          ['OQ-192', 'in_progress'],
        ],
      ],
      [
        'a contractor whose contract ended at a date-time',
        contractor('2026-11-20T17:00:00-06:00'),
        actualWith(['CON-100', 'EAP-101', 'HAZ-101', 'HAZ-DAY', 'IND-DAY'].map(done)),
        [['OQ-192', 'not-enrolled']],
      ],
      [
        'a contractor terminated before the contract end',
        contractor('2027-06-30', { terminationDate: TODAY }),
        actualWith(['CON-100', 'EAP-101', 'HAZ-101', 'HAZ-DAY', 'IND-DAY', 'OQ-192'].map(done)),
        [],
      ],
      [
        'with an access group: the training the access required counts too',
        officeProfile({ startDate: '2025-03-03', terminationDate: TODAY, accessGroups: ['DCS Engineering Workstation'] }),
        actualWith(['EHS-101', 'EAP-101', 'WEL-100', 'COC-100', 'SEC-100', 'IND-HQ', 'ERG-101'].map(done)),
        [
          ['MOC-201', 'not-enrolled'],
          ['PSM-201', 'not-enrolled'],
        ],
      ],
      [
        'without that access group, the same record leaves nothing open',
        officeProfile({ startDate: '2025-03-03', terminationDate: TODAY }),
        actualWith(['EHS-101', 'EAP-101', 'WEL-100', 'COC-100', 'SEC-100', 'IND-HQ', 'ERG-101'].map(done)),
        [],
      ],
    ])('%s', (_name, p, actual, expected) => {
      const report = closeOut(p, org, actual);
      expect(gapOf(report.incompleteMandatory)).toEqual(expected);
      const requiredBy = Object.fromEntries(report.incompleteMandatory.map((g) => [g.courseId, g.requiredBy]));
      if (requiredBy['MOC-201']) expect(requiredBy['MOC-201']).toEqual(['control-system-access']);
      if (requiredBy['OQ-192']) expect(requiredBy['OQ-192']).toEqual(['pipeline-covered-tasks']);
    });

    it('is what the role and site require for the same person with no separation at all, minus what was completed', () => {
      const employed = profile({ startDate: '2025-03-03', accessGroups: ['DCS Engineering Workstation'] });
      const actual = actualWith([enrollment('EHS-101', 'completed', '2025-03-05T10:00:00Z'), enrollment('PSM-201', 'in_progress'), enrollment('MOC-201', 'enrolled')]);
      const whileEmployed = desiredLmsState(employed, org, TODAY);
      const status = new Map(actual.enrollments.map((e) => [e.courseId, e.status]));
      const expected = whileEmployed.enrollments
        .filter((e) => e.courseId !== 'EHS-101')
        .map((e): GapItem => ({ courseId: e.courseId, dueDate: e.dueDate, requiredBy: e.requiredBy, status: status.get(e.courseId) ?? 'not-enrolled' }));
      expect(closeOut({ ...employed, terminationDate: TODAY }, org, actual).incompleteMandatory).toEqual(expected);
      expect(gapOf(expected)).toEqual(expect.arrayContaining([['MOC-201', 'enrolled'], ['PSM-201', 'in_progress']]));
    });
  });
});

describe('separationOf and desiredLmsState with date-times', () => {
  const employed = (overrides: Partial<HrProfile> = {}) => profile({ startDate: '2025-03-03', ...overrides });

  it.each<[string, HrProfile, string | undefined]>([
    ['no separation', employed(), undefined],
    ['a termination date', employed({ terminationDate: TODAY }), TODAY],
    ['a termination date-time, kept as given', employed({ terminationDate: '2026-11-22T14:00:00-05:00' }), '2026-11-22T14:00:00-05:00'],
    ['a contractor: the contract end date-time', contractor('2026-11-22T17:00:00Z'), '2026-11-22T17:00:00Z'],
    ['an employee with a contract on file: the contract does not end the employment', employed({ contract: contract('2026-11-22') }), undefined],
    // the earlier of termination and contract end wins, compared as instants
    ['termination at 14:00, contract ends at midnight the next day', contractor('2026-11-23', { terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T14:00:00Z'],
    ['termination date, contract end later that day', contractor('2026-11-22T17:00:00Z', { terminationDate: TODAY }), TODAY],
    ['contract ends at noon, termination at 14:00', contractor('2026-11-22T12:00:00Z', { terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T12:00:00Z'],
    // 14:00 at UTC-5 is 19:00Z: later than 18:00Z although it reads earlier
    [
      'termination 14:00-05:00 (19:00Z) against a contract end of 18:00Z',
      contractor('2026-11-22T18:00:00Z', { terminationDate: '2026-11-22T14:00:00-05:00' }),
      '2026-11-22T18:00:00Z',
    ],
    [
      'contract end 14:00-05:00 (19:00Z) against a termination at 18:00Z',
      contractor('2026-11-22T14:00:00-05:00', { terminationDate: '2026-11-22T18:00:00Z' }),
      '2026-11-22T18:00:00Z',
    ],
    ['a termination on the start day belongs to this employment', employed({ startDate: TODAY, terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T14:00:00Z'],
    // Since 08069d9 a termination dated before the start counts in the domain (an offer withdrawn
    // before day one); a rehire's old termination date is dropped by the HRIS adapter instead.
    ['an offer withdrawn: a termination date before the start counts', employed({ startDate: START, terminationDate: '2026-11-20' }), '2026-11-20'],
    ['an offer withdrawn: a termination date-time before the start counts', employed({ startDate: START, terminationDate: '2026-11-20T17:00:00Z' }), '2026-11-20T17:00:00Z'],
    ['a rehire as the adapter delivers it (no termination on file): no separation', employed({ startDate: '2026-11-01', terminationDate: null }), undefined],
    ['a contractor whose offer was withdrawn: the termination, earlier than the contract end', contractor('2027-06-30', { terminationDate: '2026-05-31' }), '2026-05-31'],
  ])('%s', (_name, p, expected) => {
    expect(separationOf(p)).toBe(expected);
  });

  it.each<[string, HrProfile, string, boolean]>([
    // termination at 14:00 UTC today
    ['termination at 14:00Z; asOf the morning', employed({ terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T08:00:00Z', true],
    ['termination at 14:00Z; asOf a millisecond before', employed({ terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T13:59:59.999Z', true],
    ['termination at 14:00Z; asOf the instant itself', employed({ terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T14:00:00Z', false],
    ['termination at 14:00Z; asOf later that day', employed({ terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T20:00:00Z', false],
    ['termination at 14:00Z; asOf 14:30+01:00 (13:30Z)', employed({ terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T14:30:00+01:00', true],
    ['termination at 14:00Z; asOf 13:30-01:00 (14:30Z)', employed({ terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T13:30:00-01:00', false],
    ['termination at 14:00Z; asOf the day (its midnight)', employed({ terminationDate: '2026-11-22T14:00:00Z' }), TODAY, true],
    ['termination at 14:00Z; asOf the next day', employed({ terminationDate: '2026-11-22T14:00:00Z' }), addDays(TODAY, 1), false],
    // termination at 14:00 at UTC-5 (19:00Z)
    ['termination at 14:00-05:00; asOf 18:00Z', employed({ terminationDate: '2026-11-22T14:00:00-05:00' }), '2026-11-22T18:00:00Z', true],
    ['termination at 14:00-05:00; asOf 19:00Z', employed({ terminationDate: '2026-11-22T14:00:00-05:00' }), '2026-11-22T19:00:00Z', false],
    // a termination date (midnight UTC) against asOf date-times
    ['termination date today; asOf this morning', employed({ terminationDate: TODAY }), '2026-11-22T08:00:00Z', false],
    ['termination date tomorrow; asOf late tonight', employed({ terminationDate: addDays(TODAY, 1) }), '2026-11-22T23:59:59Z', true],
    // a contract ending at a moment within the day
    ['contract end at 17:00Z; asOf 16:59Z', contractor('2026-11-22T17:00:00Z'), '2026-11-22T16:59:00Z', true],
    ['contract end at 17:00Z; asOf 17:00Z', contractor('2026-11-22T17:00:00Z'), '2026-11-22T17:00:00Z', false],
    ['contract end at 17:00+02:00 (15:00Z); asOf 16:00Z', contractor('2026-11-22T17:00:00+02:00'), '2026-11-22T16:00:00Z', false],
    ['contract end at 17:00+02:00 (15:00Z); asOf 14:59Z', contractor('2026-11-22T17:00:00+02:00'), '2026-11-22T14:59:00Z', true],
    ['contract end date today; asOf this morning', contractor(TODAY), '2026-11-22T08:00:00Z', false],
    // the earlier of the two wins
    ['contract end at noon before a 14:00 termination; asOf 13:00Z', contractor('2026-11-22T12:00:00Z', { terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T13:00:00Z', false],
    ['termination at 14:00 before a contract end tomorrow; asOf 15:00Z', contractor('2026-11-23', { terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T15:00:00Z', false],
    ['termination at 14:00 before a contract end tomorrow; asOf 13:00Z', contractor('2026-11-23', { terminationDate: '2026-11-22T14:00:00Z' }), '2026-11-22T13:00:00Z', true],
    // a termination before the start (an offer withdrawn) deactivates; a rehire arrives without one
    ['an offer withdrawn at a date-time before the start; asOf later', employed({ startDate: START, terminationDate: '2026-11-20T17:00:00Z' }), '2026-11-22T14:00:00Z', false],
    ['an offer withdrawn at a date-time before the start; asOf before it', employed({ startDate: START, terminationDate: '2026-11-20T17:00:00Z' }), '2026-11-20T16:00:00Z', true],
    ['a rehire as the adapter delivers it (no termination on file)', employed({ startDate: '2026-11-01', terminationDate: null }), '2026-11-22T14:00:00Z', true],
  ])('active: %s', (_name, p, asOf, active) => {
    expect(desiredLmsState(p, org, asOf).active).toBe(active);
  });

  it.each<[string, string]>([
    ['before the termination instant: nothing to do', '2026-11-22T13:59:00Z'],
    ['at the termination instant: deactivate, and nothing else', '2026-11-22T14:00:00Z'],
  ])('planChanges for a termination at 14:00 today, %s', (name, asOf) => {
    const p = employed({ terminationDate: '2026-11-22T14:00:00Z' });
    const actual = matchingActual(desiredLmsState(employed(), org, '2026-11-22T08:00:00Z'));
    const expected: PlanStep[] = name.startsWith('before') ? [] : [{ action: 'deactivate_user' }];
    expect(planChanges(desiredLmsState(p, org, asOf), actual)).toEqual(expected);
  });

  it.each<[string, string, string, string]>([
    // startDate, asOf, the anchor due dates count from
    ['a date-time asOf after the start: its date part', '2025-03-03', '2026-11-22T14:00:00Z', '2026-11-22'],
    ['a date-time asOf late in the UTC day', '2025-03-03', '2026-11-22T23:59:59.999Z', '2026-11-22'],
    ['a date-time asOf with an offset: the date as written', '2025-03-03', '2026-11-22T20:30:00-05:00', '2026-11-22'],
    ['a date-time asOf before the start: the start', START, '2026-11-22T14:00:00Z', START],
    ['a date-time asOf on the start day: the start', START, '2026-12-01T23:00:00Z', START],
  ])('due dates: %s', (_name, startDate, asOf, anchor) => {
    const withTime = desiredLmsState(profile({ startDate }), org, asOf);
    const asDate = desiredLmsState(profile({ startDate }), org, anchor);
    expect(withTime.enrollments).toEqual(asDate.enrollments);
    const due = Object.fromEntries(withTime.enrollments.map((e) => [e.courseId, e.dueDate]));
    expect(due).toMatchObject({ 'EHS-101': anchor, 'WEL-100': addDays(anchor, 7), 'COC-100': addDays(anchor, 30) });
  });

  it('a termination later today does not change what is due, only when the account closes', () => {
    const p = employed({ terminationDate: '2026-11-22T14:00:00Z' });
    const before = desiredLmsState(p, org, '2026-11-22T09:00:00Z');
    expect(before.active).toBe(true);
    expect(before.enrollments).toEqual(desiredLmsState(employed(), org, TODAY).enrollments);
  });
});

describe('access groups', () => {
  const DCS = 'DCS Engineering Workstation';

  it.each<[string, HrProfile, Record<string, string[]>]>([
    // case, profile (without the access group), courses the access group adds or extends -> requiredBy
    ['a head-office administrative assistant', officeProfile(), { 'MOC-201': ['control-system-access'], 'PSM-201': ['control-system-access'] }],
    ['a production operator at Dayton', profile({ jobCode: 'PRD-OP', jobTitle: 'Production Operator', department: 'PRD', site: 'DAY' }), { 'MOC-201': ['control-system-access'], 'PSM-201': ['control-system-access'] }],
    // PSM-201 is already required at the PSM plant: it stays once, required by both curricula
    ['a chemical operator at Baytown', profile(), { 'MOC-201': ['control-system-access'], 'PSM-201': ['psm-operations', 'control-system-access'] }],
    ['a maintenance contractor at Baytown', profile({ jobCode: 'CTR-MNT', employmentType: 'contractor', contract: contract('2027-06-30') }), { 'MOC-201': ['control-system-access'], 'PSM-201': ['psm-operations', 'control-system-access'] }],
  ])(`${DCS}: %s gets the mirrored LMS group and the control-system-access curriculum`, (_name, p, added) => {
    const without = desiredLmsState(p, org, TODAY);
    const withAccess = desiredLmsState({ ...p, accessGroups: [DCS] }, org, TODAY);
    expect(without.groups).not.toContain('idp-dcs-engineering');
    expect(withAccess.groups).toEqual([...without.groups, 'idp-dcs-engineering'].sort());
    const byCourse = Object.fromEntries(withAccess.enrollments.map((e) => [e.courseId, e]));
    for (const [courseId, requiredBy] of Object.entries(added)) {
      expect(byCourse[courseId], courseId).toEqual({ courseId, dueDate: START, requiredBy });
    }
    expect([...courseIds(withAccess)].sort()).toEqual([...new Set([...courseIds(without), ...Object.keys(added)])].sort());
    expect(withAccess.unresolved).toEqual([]);
    expect(withAccess.account).toEqual(without.account);
    expect(withAccess.branch).toBe(without.branch);
  });

  it('two access groups: both mirrored groups and both curricula', () => {
    const desired = desiredLmsState(officeProfile({ accessGroups: [DCS, 'Privileged IT Administrators'] }), org, TODAY);
    expect(desired.groups).toEqual(expect.arrayContaining(['idp-dcs-engineering', 'idp-privileged-admins']));
    expect(courseIds(desired)).toEqual(expect.arrayContaining(['CYB-201', 'MOC-201', 'PSM-201']));
  });

  it.each<[string, string[]]>([
    ['no access groups (empty list)', []],
    ['an access group the organisation does not know', ['Book Club']],
    ['a name that only resembles a known one', ['DCS Engineering']],
    ['an LMS group code instead of the access group name', ['idp-dcs-engineering']],
  ])('%s adds nothing', (_name, accessGroups) => {
    for (const p of [officeProfile(), profile()]) {
      const plain = desiredLmsState(p, org, TODAY);
      const withGroups = desiredLmsState({ ...p, accessGroups }, org, TODAY);
      expect(withGroups).toEqual(plain);
    }
  });

  it.each<[string, HrProfile, ActualEnrollment[], PlanStep[]]>([
    [
      'head office, nothing completed: the mirrored group and both access-only courses go',
      officeProfile(),
      [],
      [
        { action: 'remove_group', group: 'idp-dcs-engineering' },
        { action: 'unenroll', courseId: 'MOC-201', status: 'enrolled' },
        { action: 'unenroll', courseId: 'PSM-201', status: 'enrolled' },
      ],
    ],
    [
      'head office, MOC-201 completed and PSM-201 in progress: the completed record is kept',
      officeProfile(),
      [enrollment('MOC-201', 'completed', '2026-11-20T10:00:00Z'), enrollment('PSM-201', 'in_progress')],
      [
        { action: 'remove_group', group: 'idp-dcs-engineering' },
        { action: 'unenroll', courseId: 'PSM-201', status: 'in_progress' },
      ],
    ],
    [
      'head office, both completed: only the group goes',
      officeProfile(),
      [enrollment('MOC-201', 'completed', '2026-11-20T10:00:00Z'), enrollment('PSM-201', 'expired', '2023-11-20T10:00:00Z')],
      [{ action: 'remove_group', group: 'idp-dcs-engineering' }],
    ],
    [
      'Baytown operator: PSM-201 is still required by the role, only MOC-201 goes',
      profile(),
      [],
      [
        { action: 'remove_group', group: 'idp-dcs-engineering' },
        { action: 'unenroll', courseId: 'MOC-201', status: 'enrolled' },
      ],
    ],
  ])('the access group is gone from the profile: %s', (_name, p, overrideEnrollments, expected) => {
    const granted = desiredLmsState({ ...p, accessGroups: [DCS] }, org, TODAY);
    const actual = matchingActual(granted);
    actual.enrollments = actual.enrollments.map((e) => overrideEnrollments.find((o) => o.courseId === e.courseId) ?? e);
    expect(planChanges(granted, actual)).toEqual([]);
    for (const revoked of [{ ...p, accessGroups: [] }, { ...p, accessGroups: undefined }, { ...p, accessGroups: ['Book Club'] }]) {
      expect(planChanges(desiredLmsState(revoked, org, TODAY), actual)).toEqual(expected);
    }
  });

  it('one of two access groups is gone: only its group and course go', () => {
    const both = desiredLmsState(officeProfile({ accessGroups: [DCS, 'Privileged IT Administrators'] }), org, TODAY);
    const actual = matchingActual(both);
    expect(planChanges(desiredLmsState(officeProfile({ accessGroups: [DCS] }), org, TODAY), actual)).toEqual([
      { action: 'remove_group', group: 'idp-privileged-admins' },
      { action: 'unenroll', courseId: 'CYB-201', status: 'enrolled' },
    ]);
  });

  it('the access group granted to an existing learner: the group and the new courses are added, nothing else', () => {
    const before = desiredLmsState(officeProfile(), org, TODAY);
    const effective = '2027-01-11';
    const after = desiredLmsState(officeProfile({ accessGroups: [DCS] }), org, effective);
    expect(planChanges(after, matchingActual(before))).toEqual([
      { action: 'add_group', group: 'idp-dcs-engineering' },
      { action: 'enroll', courseId: 'MOC-201', dueDate: effective, requiredBy: ['control-system-access'] },
      { action: 'enroll', courseId: 'PSM-201', dueDate: effective, requiredBy: ['control-system-access'] },
    ]);
  });
});
