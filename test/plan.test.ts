import { describe, expect, it } from 'vitest';
import { addDays } from '../domain/dates';
import type { HrProfile } from '../domain/hr-event';
import { loadOrganisation, SAMPLE_ORGANISATION_PATH } from '../domain/load-organisation';
import type { ActualEnrollment, ActualLmsState, DesiredLmsState, EnrollmentStatus, LearnerAccount, PlanStep } from '../domain/lms-state';
import { Organisation } from '../domain/organisation';
import { desiredLmsState, planChanges } from '../domain/plan';
import { sampleRoster } from '../simulators/roster';
import { profile, START, TODAY } from './support/profiles';

// Table-driven unit tests of the two pure functions at the heart of hrsync (SPEC §1.2, §2).
// Everything here is in-memory: no Temporal, no database, no clock.

const org = loadOrganisation(SAMPLE_ORGANISATION_PATH);


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

function enrollment(courseId: string, status: EnrollmentStatus, completedAt: string | null = null): ActualEnrollment {
  return { courseId, status, dueDate: '2025-01-01', completedAt };
}

const actions = (steps: PlanStep[]) => steps.map((s) => s.action);
const dueByCourse = (desired: DesiredLmsState) => Object.fromEntries(desired.enrollments.map((e) => [e.courseId, e.dueDate]));
const stepsOf = <A extends PlanStep['action']>(steps: PlanStep[], action: A) =>
  steps.filter((s): s is Extract<PlanStep, { action: A }> => s.action === action);

/**
 * A tiny model of the LMS: applies plan steps to an actual state the way an idempotent LMS
 * adapter would. Pure; returns a new state.
 */
function applyToModel(actual: ActualLmsState | null, steps: PlanStep[]): ActualLmsState | null {
  let state: ActualLmsState | null = actual && structuredClone(actual);
  const need = (step: PlanStep): ActualLmsState => {
    if (!state) throw new Error(`${step.action} on a learner that does not exist`);
    return state;
  };
  for (const step of steps) {
    switch (step.action) {
      case 'create_user':
        if (state) throw new Error('create_user on a learner that exists');
        state = { userId: `lms-${step.account.externalId}`, active: true, account: { ...step.account }, branch: step.branch, groups: [], enrollments: [] };
        break;
      case 'activate_user':
        need(step).active = true;
        break;
      case 'deactivate_user':
        need(step).active = false;
        break;
      case 'update_user': {
        const s = need(step);
        s.account = { ...s.account, ...step.changes };
        break;
      }
      case 'set_branch':
        need(step).branch = step.to;
        break;
      case 'add_group': {
        const s = need(step);
        if (!s.groups.includes(step.group)) s.groups.push(step.group);
        break;
      }
      case 'remove_group': {
        const s = need(step);
        s.groups = s.groups.filter((g) => g !== step.group);
        break;
      }
      case 'enroll': {
        const s = need(step);
        if (!s.enrollments.some((e) => e.courseId === step.courseId)) {
          s.enrollments.push({ courseId: step.courseId, status: 'enrolled', dueDate: step.dueDate, completedAt: null });
        }
        break;
      }
      case 'unenroll': {
        const s = need(step);
        s.enrollments = s.enrollments.filter((e) => e.courseId !== step.courseId);
        break;
      }
    }
  }
  return state;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * A small hand-made organisation: two sites, one role, a course (ROLE-1) that two curricula
 * require with different offsets, and a custom cohort prefix.
 */
function tinyOrg(curricula: { id: string; items: { course: string; dueOffsetDays: number }[] }[]): Organisation {
  return Organisation.parse({
    name: 'Tiny Co.',
    cohortGroupPrefix: 'intake-',
    branches: [
      { code: 'BR-A', name: 'Site A' },
      { code: 'BR-B', name: 'Site B' },
    ],
    groups: [
      { code: 'site-a', name: 'Site A' },
      { code: 'site-b', name: 'Site B' },
      { code: 'dept-x', name: 'Dept X' },
      { code: 'staff', name: 'Staff' },
    ],
    roles: [{ id: 'worker', title: 'Worker' }],
    courses: [
      { code: 'SAFE-1', title: 'Safety', category: 'safety' },
      { code: 'ROLE-1', title: 'Role skills', category: 'role' },
      { code: 'COMP-1', title: 'Compliance', category: 'compliance' },
    ],
    curricula: curricula.map((c) => ({ ...c, title: c.id })),
    sites: [
      { code: 'A', name: 'Site A', kind: 'office', branch: 'BR-A', groups: ['site-a'] },
      { code: 'B', name: 'Site B', kind: 'warehouse', branch: 'BR-B', groups: ['site-b'] },
    ],
    departments: [{ code: 'X', name: 'Dept X', group: 'dept-x' }],
    jobCodes: [{ code: 'WRK', title: 'Worker', role: 'worker' }],
    employmentTypeGroups: { employee: 'staff' },
    approvals: { kinds: Object.fromEntries(['ai-mapping', 'leadership', 'bulk-deactivation', 'configured'].map((k) => [k, { approvers: ['boss'] }])) },
    requirements: curricula.map((c) => ({ id: `rule-${c.id}`, description: c.id, curricula: [c.id] })),
  });
}

const tinyProfile = (overrides: Partial<HrProfile> = {}) =>
  profile({ jobCode: 'WRK', jobTitle: 'Worker', department: 'X', site: 'A', ...overrides });

// Chemical Process Operator I at Baytown (PSM-covered), offsets from the sample organisation.
const CHM_OP1_AT_BAY_OFFSETS: Record<string, number> = {
  'EHS-101': 0,
  'EAP-101': 0,
  'IND-BAY': 0,
  'HAZ-101': 0,
  'HAZ-BAY': 0,
  'PSM-201': 0,
  'WEL-100': 7,
  'COC-100': 30,
  'SEC-100': 30,
};

describe('desiredLmsState', () => {
  it('a new chemical operator at Baytown: account, branch, groups and the PSM site curricula', () => {
    const desired = desiredLmsState(profile({ managerId: 'E0900' }), org, TODAY);
    expect(desired).toMatchObject({
      employeeId: 'E1001',
      active: true,
      account: {
        externalId: 'E1001',
        username: 'ana.reyes@example.com',
        firstName: 'Ana',
        lastName: 'Reyes',
        email: 'ana.reyes@example.com',
        role: 'operator',
        managerId: 'E0900',
      },
      branch: 'BR-BAY',
      groups: ['cohort-2026-12', 'dept-operations', 'employees', 'psm-covered-staff', 'site-baytown'],
      unresolved: [],
    });
    expect(dueByCourse(desired)).toEqual(Object.fromEntries(Object.entries(CHM_OP1_AT_BAY_OFFSETS).map(([c, d]) => [c, addDays(START, d)])));
    expect(desired.enrollments.find((e) => e.courseId === 'PSM-201')?.requiredBy).toEqual(['psm-operations']);
  });

  it.each([
    // name, startDate, asOf, expected anchor
    ['hire processed a week before the first shift', '2026-12-01', '2026-11-24', '2026-12-01'],
    ['hire processed on the first day', '2026-12-01', '2026-12-01', '2026-12-01'],
    ['late-processed hire (three days after the start)', '2026-11-20', '2026-11-23', '2026-11-23'],
    ['role change effective years after the start', '2024-03-04', '2026-12-07', '2026-12-07'],
    ['across a month and year boundary', '2026-12-30', '2026-12-31', '2026-12-31'],
  ])('due dates count from the later of start and asOf: %s', (_name, startDate, asOf, anchor) => {
    const desired = desiredLmsState(profile({ startDate }), org, asOf);
    expect(dueByCourse(desired)).toEqual(Object.fromEntries(Object.entries(CHM_OP1_AT_BAY_OFFSETS).map(([c, d]) => [c, addDays(anchor, d)])));
  });

  it('a promotion to process supervisor, effective later, adds PSM leadership and people leadership from the effective date', () => {
    const effective = '2027-02-15';
    const desired = desiredLmsState(profile({ jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor', startDate: '2023-06-05' }), org, effective);
    expect(desired.account.role).toBe('supervisor');
    expect(desired.groups).toContain('people-leaders');
    expect(desired.groups).toContain('cohort-2023-06'); // the cohort is the hire month, not the event's
    const due = dueByCourse(desired);
    expect(due['PSM-301']).toBe(addDays(effective, 30));
    expect(due['LDR-301']).toBe(addDays(effective, 60));
    expect(due['PSM-201']).toBe(effective);
  });

  describe('safety courses are due on or before the first shift for every job code at every site', () => {
    const safety = new Set(org.courses.filter((c) => c.category === 'safety').map((c) => c.code));
    const cases = org.jobCodes.flatMap((job) =>
      org.sites.flatMap((site) => (['employee', 'temporary', 'contractor'] as const).map((type) => [job.code, site.code, type] as const)),
    );
    it.each(cases)('%s at %s (%s)', (jobCode, siteCode, employmentType) => {
      const p = profile({
        jobCode,
        site: siteCode,
        employmentType,
        ...(employmentType === 'contractor' ? { contract: { agency: 'Acme', startDate: START, endDate: '2027-06-30', coveredTasks: [] } } : {}),
      });
      const desired = desiredLmsState(p, org, addDays(START, -7));
      expect(desired.unresolved).toEqual([]);
      const safetyEnrollments = desired.enrollments.filter((e) => safety.has(e.courseId));
      // everyone gets at least the site induction and a general safety orientation
      expect(safetyEnrollments.map((e) => e.courseId)).toContain(`IND-${siteCode}`);
      expect(safetyEnrollments.map((e) => e.courseId)).toContain(employmentType === 'contractor' ? 'CON-100' : 'EHS-101');
      for (const e of safetyEnrollments) {
        expect(e.dueDate <= START, `${e.courseId} due ${e.dueDate} is after the start ${START}`).toBe(true);
      }
    });
  });

  it.each([
    ['2026-01-31', 'cohort-2026-01'],
    ['2026-12-01', 'cohort-2026-12'],
    ['2027-07-15', 'cohort-2027-07'],
  ])('start date %s puts the hire in cohort group %s', (startDate, cohort) => {
    const desired = desiredLmsState(profile({ startDate }), org, TODAY);
    expect(desired.groups.filter((g) => g.startsWith('cohort-'))).toEqual([cohort]);
    expect(desired.managed.groupPrefixes).toContain('cohort-');
  });

  it('the cohort prefix comes from the organisation', () => {
    const small = tinyOrg([{ id: 'base', items: [{ course: 'SAFE-1', dueOffsetDays: 0 }] }]);
    const desired = desiredLmsState(tinyProfile({ startDate: '2026-03-09' }), small, TODAY);
    expect(desired.groups).toEqual(['dept-x', 'intake-2026-03', 'site-a', 'staff']);
    expect(desired.managed).toEqual({ courses: ['SAFE-1', 'ROLE-1', 'COMP-1'], groups: ['site-a', 'site-b', 'dept-x', 'staff'], groupPrefixes: ['intake-'] });
  });

  it.each([
    ['by code, any case', 'bay', 'OPS', 'BR-BAY', 'dept-operations'],
    ['by name', 'Dayton Manufacturing Plant', 'Production', 'BR-DAY', 'dept-production'],
    ['by name with stray spaces and case', '  pasadena occupational health clinic ', 'clinical services', 'BR-CLN', 'dept-clinical'],
  ])('sites and departments are found %s', (_how, site, department, branch, group) => {
    const desired = desiredLmsState(profile({ site, department }), org, TODAY);
    expect(desired.unresolved).toEqual([]);
    expect(desired.branch).toBe(branch);
    expect(desired.groups).toContain(group);
  });

  it('the username is the lower-cased email; the email itself is kept as given', () => {
    const desired = desiredLmsState(profile({ email: 'Ana.Reyes@Example.COM' }), org, TODAY);
    expect(desired.account.username).toBe('ana.reyes@example.com');
    expect(desired.account.email).toBe('Ana.Reyes@Example.COM');
  });

  const contract = (endDate: string) => ({ agency: 'Acme Staffing', startDate: '2026-06-01', endDate, coveredTasks: [] });
  it.each<[string, Partial<HrProfile>, string, boolean]>([
    ['no separation', {}, TODAY, true],
    ['termination tomorrow', { terminationDate: addDays(TODAY, 1) }, TODAY, true],
    ['termination today (deactivate on the day)', { terminationDate: TODAY }, TODAY, false],
    ['termination last month', { terminationDate: '2026-10-15' }, TODAY, false],
    ['an offer withdrawn before day one: a termination before the start date counts', { startDate: '2026-12-01', terminationDate: '2026-11-20' }, TODAY, false],
    ['termination at 15:00 today, seen at 14:59', { terminationDate: `${TODAY}T15:00:00Z` }, `${TODAY}T14:59:00Z`, true],
    ['termination at 15:00 today, seen at 15:00', { terminationDate: `${TODAY}T15:00:00Z` }, `${TODAY}T15:00:00Z`, false],
    ['contractor whose contract ends tomorrow', { employmentType: 'contractor', contract: contract(addDays(TODAY, 1)) }, TODAY, true],
    ['contractor whose contract ends today', { employmentType: 'contractor', contract: contract(TODAY) }, TODAY, false],
    ['contractor whose contract ended last week', { employmentType: 'contractor', contract: contract(addDays(TODAY, -7)) }, TODAY, false],
    [
      'contractor terminated early, before the contract end',
      { employmentType: 'contractor', contract: contract('2027-06-30'), terminationDate: addDays(TODAY, -1) },
      TODAY,
      false,
    ],
  ])('active: %s', (_name, overrides, asOf, active) => {
    expect(desiredLmsState(profile({ startDate: '2026-06-01', ...overrides }), org, asOf).active).toBe(active);
  });

  it.each<[string, Partial<HrProfile>, RegExp[]]>([
    ['unknown site', { site: 'MARS' }, [/site "MARS"/]],
    ['unknown job code', { jobCode: 'ASTRONAUT' }, [/job code "ASTRONAUT"/]],
    ['unknown department', { department: 'Skunkworks' }, [/department "Skunkworks"/]],
    ['all three unknown', { site: 'MARS', jobCode: 'ASTRONAUT', department: 'Skunkworks' }, [/site "MARS"/, /job code "ASTRONAUT"/, /department "Skunkworks"/]],
  ])('%s is listed in unresolved and nothing crashes', (_name, overrides, expected) => {
    const desired = desiredLmsState(profile(overrides), org, TODAY);
    expect(desired.unresolved).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(desired.unresolved[i]).toMatch(pattern));
    // what can still be derived is: everyone's curriculum and the cohort
    expect(dueByCourse(desired)).toMatchObject({ 'EHS-101': START, 'EAP-101': START });
    expect(desired.groups).toContain('cohort-2026-12');
    if (overrides.site) {
      expect(desired.branch).toBeNull();
      expect(desired.groups).not.toContain('site-baytown');
      expect(dueByCourse(desired)).not.toHaveProperty('IND-BAY');
    }
    if (overrides.jobCode) {
      expect(desired.account.role).toBeNull();
      expect(dueByCourse(desired)).not.toHaveProperty('PSM-201');
    }
    if (overrides.department) expect(desired.groups).not.toContain('dept-operations');
    // and a plan can still be made from it
    expect(() => planChanges(desired, null)).not.toThrow();
    expect(planChanges(desired, null)[0]).toMatchObject({ action: 'create_user', branch: desired.branch });
  });

  it.each([
    ['the earlier offset comes first', 7, 30],
    ['the earlier offset comes second', 30, 7],
    ['both offsets equal', 14, 14],
  ])('a course required by two curricula appears once with the earliest due date (%s)', (_name, first, second) => {
    const small = tinyOrg([
      { id: 'cur-first', items: [{ course: 'ROLE-1', dueOffsetDays: first }] },
      { id: 'cur-second', items: [{ course: 'ROLE-1', dueOffsetDays: second }, { course: 'SAFE-1', dueOffsetDays: 0 }] },
    ]);
    const desired = desiredLmsState(tinyProfile(), small, TODAY);
    expect(desired.enrollments).toEqual([
      { courseId: 'ROLE-1', dueDate: addDays(START, Math.min(first, second)), requiredBy: ['cur-first', 'cur-second'] },
      { courseId: 'SAFE-1', dueDate: START, requiredBy: ['cur-second'] },
    ]);
  });

  it('a maintenance contractor at the PSM plant: contractor safety, site, PSM and crafts courses, each once, no employee curriculum', () => {
    const p = profile({ jobCode: 'CTR-MNT', employmentType: 'contractor', contract: { agency: 'Acme', startDate: START, endDate: '2027-06-30', coveredTasks: [] } });
    const desired = desiredLmsState(p, org, TODAY);
    const ids = desired.enrollments.map((e) => e.courseId);
    expect([...ids].sort()).toEqual(['CON-100', 'CSE-201', 'EAP-101', 'HAZ-101', 'HAZ-BAY', 'HOT-201', 'IND-BAY', 'LOTO-201', 'PSM-201', 'PSM-CTR']);
    expect(desired.groups).toEqual(['cohort-2026-12', 'contractors', 'dept-operations', 'loto-authorized', 'psm-covered-staff', 'site-baytown']);
    expect(desired.account.role).toBe('contractor');
  });

  it.each<[string, string[], string[]]>([
    ['no covered tasks', [], []],
    ['covered task 0401 as the HRIS writes it', ['OQ 0401 valve maintenance'], ['OQ-0401']],
    ['covered task 0601, in other case and spacing', ['  oq 0601 '], ['OQ-0601']],
    ['both tasks', ['OQ 0401', 'OQ 0601 cathodic protection'], ['OQ-0401', 'OQ-0601']],
    ['a task the organisation does not qualify for', ['OQ 9999 welding'], []],
  ])('a pipeline contractor at Dayton with %s gets the task qualifications', (_name, coveredTasks, expected) => {
    const p = profile({ jobCode: 'CTR-PIPE', site: 'DAY', employmentType: 'contractor', contract: { agency: 'Acme', startDate: START, endDate: '2027-06-30', coveredTasks } });
    const ids = desiredLmsState(p, org, TODAY).enrollments.map((e) => e.courseId);
    expect(ids.filter((c) => c.startsWith('OQ-0'))).toEqual(expected);
    expect(ids).toContain('OQ-192');
    expect(ids).not.toContain('PSM-CTR'); // Dayton is not PSM-covered
  });
});

describe('planChanges', () => {
  it('a hire with no LMS account: create_user first, then add_group for every group, then enroll with due dates', () => {
    const desired = desiredLmsState(profile(), org, TODAY);
    const steps = planChanges(desired, null);
    expect(steps[0]).toEqual({ action: 'create_user', account: desired.account, branch: 'BR-BAY' });
    expect(steps.filter((s) => s.action === 'create_user')).toHaveLength(1);
    const rest = actions(steps.slice(1));
    const lastGroup = rest.lastIndexOf('add_group');
    const firstEnroll = rest.indexOf('enroll');
    expect(lastGroup).toBeLessThan(firstEnroll);
    expect(new Set(rest)).toEqual(new Set(['add_group', 'enroll']));
    expect(stepsOf(steps, 'add_group').map((s) => s.group)).toEqual(['cohort-2026-12', 'dept-operations', 'employees', 'psm-covered-staff', 'site-baytown']);
    const enrolls = stepsOf(steps, 'enroll');
    expect(Object.fromEntries(enrolls.map((s) => [s.courseId, s.dueDate]))).toEqual(
      Object.fromEntries(Object.entries(CHM_OP1_AT_BAY_OFFSETS).map(([c, d]) => [c, addDays(START, d)])),
    );
    expect(enrolls.find((s) => s.courseId === 'HAZ-BAY')?.requiredBy).toEqual(['site-baytown']);
  });

  it('an LMS that already matches gives an empty plan', () => {
    const desired = desiredLmsState(profile(), org, TODAY);
    const actual: ActualLmsState = {
      userId: 'u-17',
      active: true,
      account: {
        externalId: 'E1001',
        username: 'ana.reyes@example.com',
        firstName: 'Ana',
        lastName: 'Reyes',
        email: 'ana.reyes@example.com',
        role: 'operator',
        managerId: null,
      },
      branch: 'BR-BAY',
      groups: ['site-baytown', 'psm-covered-staff', 'dept-operations', 'employees', 'cohort-2026-12'],
      enrollments: [
        enrollment('EHS-101', 'completed', '2026-12-01T10:00:00Z'),
        enrollment('EAP-101', 'in_progress'),
        enrollment('IND-BAY', 'enrolled'),
        enrollment('HAZ-101', 'enrolled'),
        enrollment('HAZ-BAY', 'enrolled'),
        enrollment('PSM-201', 'enrolled'),
        enrollment('WEL-100', 'enrolled'),
        enrollment('COC-100', 'enrolled'),
        enrollment('SEC-100', 'enrolled'),
      ],
    };
    expect(planChanges(desired, actual)).toEqual([]);
  });

  it.each<[EnrollmentStatus, string | null, boolean]>([
    ['completed', '2026-01-10T09:00:00Z', false],
    ['expired', '2023-01-10T09:00:00Z', false],
    ['enrolled', null, true],
    ['in_progress', null, true],
  ])('a course no longer required in status %s: unenrolled = %s', (status, completedAt, unenrolled) => {
    // a maintenance technician moves into operations: LOTO-201 is no longer required
    const desired = desiredLmsState(profile(), org, TODAY);
    const actual = matchingActual(desired, { enrollments: [...matchingActual(desired).enrollments, enrollment('LOTO-201', status, completedAt)] });
    const steps = planChanges(desired, actual);
    expect(steps).toEqual(unenrolled ? [{ action: 'unenroll', courseId: 'LOTO-201', status }] : []);
  });

  it('a course still required and already completed is not enrolled again (competency gap only)', () => {
    const desired = desiredLmsState(profile({ jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor' }), org, TODAY);
    const actual = matchingActual(desired);
    actual.enrollments = actual.enrollments.filter((e) => e.courseId !== 'LDR-301' && e.courseId !== 'PSM-301');
    actual.enrollments.push(enrollment('PSM-301', 'completed', '2025-05-05T12:00:00Z'));
    expect(planChanges(desired, actual)).toEqual([
      { action: 'enroll', courseId: 'LDR-301', dueDate: addDays(START, 60), requiredBy: ['people-leadership'] },
    ]);
  });

  it('enrollments and groups hrsync does not own are left alone; managed ones that are not wanted are removed', () => {
    const desired = desiredLmsState(profile(), org, TODAY);
    const base = matchingActual(desired);
    const actual = matchingActual(desired, {
      groups: [...base.groups, 'book-club', 'okta-vpn-users', 'site-dayton', 'cohort-2025-01'],
      enrollments: [...base.enrollments, enrollment('VENDOR-999', 'enrolled'), enrollment('EXCEL-ADV', 'in_progress'), enrollment('HAZ-DAY', 'enrolled')],
    });
    expect(planChanges(desired, actual)).toEqual([
      { action: 'remove_group', group: 'cohort-2025-01' },
      { action: 'remove_group', group: 'site-dayton' },
      { action: 'unenroll', courseId: 'HAZ-DAY', status: 'enrolled' },
    ]);
  });

  it('an inactive account for an active profile is re-activated (rehire), not created again', () => {
    const desired = desiredLmsState(profile(), org, TODAY);
    const steps = planChanges(desired, matchingActual(desired, { active: false }));
    expect(steps).toEqual([{ action: 'activate_user' }]);
  });

  it('a rehire into another site: activate first, then branch, groups and courses', () => {
    const before = desiredLmsState(profile({ startDate: '2024-02-05' }), org, '2024-02-01');
    const old = matchingActual(before, { active: false });
    const desired = desiredLmsState(
      profile({ site: 'DAY', jobCode: 'PRD-OP', jobTitle: 'Production Operator', department: 'PRD', startDate: START, managerId: 'E0800' }),
      org,
      TODAY,
    );
    const steps = planChanges(desired, old);
    expect(actions(steps)).toEqual([
      'activate_user',
      'update_user',
      'set_branch',
      ...Array(3).fill('add_group'),
      ...Array(4).fill('remove_group'),
      ...Array(2).fill('enroll'),
      ...Array(3).fill('unenroll'),
    ]);
    expect(steps[1]).toEqual({ action: 'update_user', changes: { managerId: 'E0800' } });
    expect(steps[2]).toEqual({ action: 'set_branch', from: 'BR-BAY', to: 'BR-DAY' });
    expect(stepsOf(steps, 'add_group').map((s) => s.group)).toEqual(['cohort-2026-12', 'dept-production', 'site-dayton']);
    expect(stepsOf(steps, 'remove_group').map((s) => s.group)).toEqual(['cohort-2024-02', 'dept-operations', 'psm-covered-staff', 'site-baytown']);
    expect(stepsOf(steps, 'enroll').map((s) => [s.courseId, s.dueDate])).toEqual([
      ['HAZ-DAY', START],
      ['IND-DAY', START],
    ]);
    expect(stepsOf(steps, 'unenroll').map((s) => s.courseId)).toEqual(['HAZ-BAY', 'IND-BAY', 'PSM-201']);
  });

  it.each<[string, ActualLmsState | null, PlanStep[]]>([
    ['no account', null, []],
    ['an active account', { userId: 'u1', active: true, account: {} as LearnerAccount, branch: 'BR-BAY', groups: ['site-baytown'], enrollments: [enrollment('HAZ-BAY', 'enrolled')] }, [{ action: 'deactivate_user' }]],
    ['an account already inactive', { userId: 'u1', active: false, account: {} as LearnerAccount, branch: 'BR-BAY', groups: [], enrollments: [] }, []],
  ])('terminated on or before asOf with %s: only deactivate_user, or nothing', (_name, actual, expected) => {
    for (const terminationDate of [TODAY, addDays(TODAY, -30)]) {
      const desired = desiredLmsState(profile({ startDate: '2025-01-06', terminationDate, site: 'DAY' }), org, TODAY);
      expect(desired.active).toBe(false);
      expect(planChanges(desired, actual)).toEqual(expected);
    }
  });

  it('a termination dated tomorrow does not deactivate today', () => {
    const desired = desiredLmsState(profile({ terminationDate: addDays(TODAY, 1) }), org, TODAY);
    expect(planChanges(desired, matchingActual(desired))).toEqual([]);
  });

  it.each([
    ['ends today', TODAY, [{ action: 'deactivate_user' }]],
    ['ended yesterday', addDays(TODAY, -1), [{ action: 'deactivate_user' }]],
    ['ends tomorrow', addDays(TODAY, 1), []],
  ])('a contractor whose contract %s', (_name, endDate, expected) => {
    const p = profile({ jobCode: 'CTR-PIPE', employmentType: 'contractor', startDate: '2026-09-01', contract: { agency: 'Acme', startDate: '2026-09-01', endDate, coveredTasks: ['valve maintenance'] } });
    const desired = desiredLmsState(p, org, TODAY);
    const actual = matchingActual(desiredLmsState({ ...p, contract: { ...p.contract!, endDate: '2099-01-01' } }, org, TODAY));
    expect(planChanges(desired, actual)).toEqual(expected);
  });

  const ACCOUNT_CASES: [string, Partial<LearnerAccount>, Partial<LearnerAccount>][] = [
    ['first name', { firstName: 'Annie' }, { firstName: 'Ana' }],
    ['last name', { lastName: 'Reyes-Smith' }, { lastName: 'Reyes' }],
    ['email (and so the username)', { email: 'a.reyes@example.com', username: 'a.reyes@example.com' }, { email: 'ana.reyes@example.com', username: 'ana.reyes@example.com' }],
    ['email case only (username unchanged)', { email: 'ANA.REYES@example.com' }, { email: 'ana.reyes@example.com' }],
    ['manager set', { managerId: null }, { managerId: 'E0900' }],
    ['role', { role: 'technician' }, { role: 'operator' }],
    ['several at once', { firstName: 'X', lastName: 'Y', managerId: 'E0001' }, { firstName: 'Ana', lastName: 'Reyes', managerId: 'E0900' }],
  ];
  it.each(ACCOUNT_CASES)('a changed %s gives one update_user with only the changed fields', (_name, stale, changes) => {
    const desired = desiredLmsState(profile({ managerId: 'E0900' }), org, TODAY);
    const actual = matchingActual(desired);
    actual.account = { ...actual.account, ...stale };
    expect(planChanges(desired, actual)).toEqual([{ action: 'update_user', changes }]);
  });

  it('a manager removed in the HRIS is cleared in the LMS', () => {
    const desired = desiredLmsState(profile({ managerId: undefined }), org, TODAY);
    const actual = matchingActual(desired);
    actual.account.managerId = 'E0900';
    expect(planChanges(desired, actual)).toEqual([{ action: 'update_user', changes: { managerId: null } }]);
  });

  it('a site transfer: set_branch from/to, group move, new site hazards, old site-only courses revoked unless completed', () => {
    const before = desiredLmsState(profile({ jobCode: 'MNT-TEC', jobTitle: 'Maintenance Technician', department: 'MNT', startDate: '2025-03-03' }), org, '2025-03-01');
    const actual = matchingActual(before);
    actual.enrollments = actual.enrollments.map((e) =>
      e.courseId === 'HAZ-101' || e.courseId === 'IND-BAY' ? { ...e, status: 'completed' as const, completedAt: '2025-03-03T15:00:00Z' } : e,
    );
    const effective = '2026-12-14';
    const desired = desiredLmsState(profile({ jobCode: 'MNT-TEC', jobTitle: 'Maintenance Technician', department: 'MNT', startDate: '2025-03-03', site: 'DAY' }), org, effective);
    expect(planChanges(desired, actual)).toEqual([
      { action: 'set_branch', from: 'BR-BAY', to: 'BR-DAY' },
      { action: 'add_group', group: 'site-dayton' },
      { action: 'remove_group', group: 'psm-covered-staff' },
      { action: 'remove_group', group: 'site-baytown' },
      { action: 'enroll', courseId: 'HAZ-DAY', dueDate: effective, requiredBy: ['site-dayton'] },
      { action: 'enroll', courseId: 'IND-DAY', dueDate: effective, requiredBy: ['site-dayton'] },
      { action: 'unenroll', courseId: 'HAZ-BAY', status: 'enrolled' },
      { action: 'unenroll', courseId: 'PSM-201', status: 'enrolled' },
    ]);
  });

  it.each([
    ['an account with no branch yet', null, [{ action: 'set_branch', from: null, to: 'BR-BAY' }]],
    ['an account on another branch', 'BR-HQ', [{ action: 'set_branch', from: 'BR-HQ', to: 'BR-BAY' }]],
  ])('branch: %s', (_name, branch, expected) => {
    const desired = desiredLmsState(profile(), org, TODAY);
    expect(planChanges(desired, matchingActual(desired, { branch }))).toEqual(expected);
  });

  it('an unknown site (no desired branch) never moves the account off its branch', () => {
    const desired = desiredLmsState(profile({ site: 'MARS' }), org, TODAY);
    expect(desired.branch).toBeNull();
    const steps = planChanges(desired, matchingActual(desired, { branch: 'BR-BAY' }));
    expect(actions(steps)).not.toContain('set_branch');
  });

  it('is deterministic: the same input gives the same plan, whatever order the LMS lists things in, and inputs are not mutated', () => {
    const desired = desiredLmsState(profile({ site: 'DAY', department: 'LOG', jobCode: 'FLT-OP' }), org, TODAY);
    const stale = matchingActual(desiredLmsState(profile({ jobCode: 'MNT-SR', startDate: '2025-01-06' }), org, '2025-01-01'), { branch: 'BR-BAY' });
    stale.groups.push('book-club', 'cohort-2024-11');
    stale.enrollments.push(enrollment('VENDOR-1', 'enrolled'), enrollment('COC-100', 'completed', '2025-02-01T00:00:00Z'));
    deepFreeze(desired);
    deepFreeze(stale);
    const first = planChanges(desired, stale);
    expect(first.length).toBeGreaterThan(5);
    expect(planChanges(desired, stale)).toEqual(first);
    const reversed = { ...stale, groups: [...stale.groups].reverse(), enrollments: [...stale.enrollments].reverse() };
    expect(planChanges(desired, reversed)).toEqual(first);
    const rotated = { ...stale, groups: [...stale.groups.slice(3), ...stale.groups.slice(0, 3)], enrollments: [...stale.enrollments.slice(2), ...stale.enrollments.slice(0, 2)] };
    expect(planChanges(desired, rotated)).toEqual(first);
    // desiredLmsState is deterministic too
    expect(desiredLmsState(profile({ site: 'DAY', department: 'LOG', jobCode: 'FLT-OP' }), org, TODAY)).toEqual(desired);
  });

  describe('applying the plan to a model of the LMS and planning again gives an empty plan', () => {
    const roster = sampleRoster(TODAY);
    const start = roster[0]!.startDate;
    // Starting points for the LMS, built from another desired state to get realistic drift.
    const otherPerson = (p: HrProfile) =>
      desiredLmsState({ ...p, site: p.site === 'BAY' ? 'CLN' : 'BAY', jobCode: p.jobCode === 'MNT-TEC' ? 'RN' : 'MNT-TEC', department: 'EHS', managerId: 'E0001', startDate: '2024-05-06' }, org, '2024-05-01');
    const starts: [string, (p: HrProfile) => ActualLmsState | null][] = [
      ['no account', () => null],
      ['already matching', (p) => matchingActual(desiredLmsState(p, org, TODAY))],
      ['inactive stale account (rehire)', (p) => matchingActual(otherPerson(p), { active: false })],
      [
        'active account with drift, foreign groups and courses, completions',
        (p) => {
          const s = matchingActual(otherPerson(p), { branch: null });
          s.account = { ...s.account, firstName: 'Old', email: 'OLD@example.com', username: 'old@example.com' };
          s.groups.push('book-club', 'cohort-2019-01');
          s.enrollments = s.enrollments.map((e, i) => (i % 2 ? { ...e, status: 'completed' as const, completedAt: '2024-06-01T00:00:00Z' } : e));
          s.enrollments.push(enrollment('VENDOR-9', 'in_progress'));
          return s;
        },
      ],
    ];
    const asOfs: [string, (p: HrProfile) => HrProfile, string][] = [
      ['hire before the start', (p) => p, TODAY],
      ['late-processed hire', (p) => p, addDays(start, 10)],
      ['termination today', (p) => ({ ...p, terminationDate: addDays(start, 40) }), addDays(start, 40)],
    ];
    const cases = roster.flatMap((p) => starts.flatMap(([startName, mk]) => asOfs.map(([asOfName, adjust, asOf]) => [`${p.id} ${p.jobCode}@${p.site}`, startName, asOfName, p, mk, adjust, asOf] as const)));

    it.each(cases)('%s, %s, %s', (_who, _start, _when, person, mk, adjust, asOf) => {
      const p = adjust(person);
      const desired = desiredLmsState(p, org, asOf);
      const before = mk(p);
      const steps = planChanges(desired, before);
      const after = applyToModel(before, steps);
      expect(planChanges(desired, after)).toEqual([]);
      // applying twice changes nothing more (idempotent plan on the model)
      expect(applyToModel(after, planChanges(desired, after))).toEqual(after);
      if (!desired.active) {
        expect(actions(steps).every((a) => a === 'deactivate_user')).toBe(true);
        expect(after?.active ?? false).toBe(false);
        return;
      }
      expect(after).not.toBeNull();
      expect(after!.active).toBe(true);
      expect(after!.account).toEqual(desired.account);
      expect(after!.branch).toBe(desired.branch);
      expect(after!.groups).toEqual(expect.arrayContaining(desired.groups));
      expect(after!.enrollments.map((e) => e.courseId)).toEqual(expect.arrayContaining(desired.enrollments.map((e) => e.courseId)));
      // nothing foreign and no completion was lost
      for (const g of before?.groups ?? []) {
        if (g === 'book-club') expect(after!.groups).toContain(g);
      }
      for (const e of before?.enrollments ?? []) {
        if (e.status === 'completed' || e.courseId === 'VENDOR-9') expect(after!.enrollments).toContainEqual(e);
      }
    });
  });
});
