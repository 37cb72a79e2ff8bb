import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doceboRoster, limiter } from '../activities/lms-roster';
import { complianceCsv, readComplianceReport } from '../client/compliance-report';
import {
  complianceOverTime,
  complianceReport,
  enrollmentStanding,
  personCompliance,
  type ComplianceReport,
  type RosterEnrollment,
  type RosterLearner,
} from '../domain/compliance';
import { addDays, isoDateOf } from '../domain/dates';
import type { EmployeeProfile } from '../domain/hr-event';
import { bambooRecord, employeeProfile, hireEvent, SAMPLE_HIRES } from '../simulators/roster';
import { startLmsSimulator } from '../simulators/lms';
import { organisation, runHrsync, stackEnvironment, startTestStack, type TestStack } from './support/stack';

// The compliance report (domain/compliance.ts for the definitions): the pure functions
// table-driven, then against the real stack (hires through the bridge and Temporal, completions
// in the LMS simulator, the report read from the LMS over HTTP, as `hrsync report compliance`
// and as a page in headless Chromium), and a 10,000-learner LMS read.

const ARTIFACTS = resolve('test-results');
const org = organisation;
const today = isoDateOf(new Date());


const enrollment = (courseId: string, over: Partial<RosterEnrollment> = {}): RosterEnrollment => ({
  courseId,
  status: 'enrolled',
  dueDate: '2026-11-01',
  completedAt: null,
  enrolledAt: '2026-10-01T09:00:00Z',
  ...over,
});
const learner = (employeeId: string, enrollments: RosterEnrollment[], over: Partial<RosterLearner> = {}): RosterLearner => ({
  employeeId,
  lmsUserId: `u-${employeeId}`,
  name: `Person ${employeeId}`,
  active: true,
  branch: 'BR-BAY',
  role: 'operator',
  createdAt: '2026-09-30T12:00:00Z',
  enrollments,
  ...over,
});

describe('the definitions (pure functions)', () => {
  const D = '2026-11-20';
  it.each([
    ['completed before d: met', enrollment('EHS-101', { status: 'completed', completedAt: '2026-10-30T10:00:00Z' }), { state: 'met', completedOn: '2026-10-30' }],
    ['completed on d: met', enrollment('EHS-101', { status: 'completed', completedAt: `${D}T23:00:00Z` }), { state: 'met', completedOn: D }],
    ['completed after d and due before it: overdue at d', enrollment('EHS-101', { status: 'completed', completedAt: '2026-11-25T10:00:00Z' }), { state: 'overdue', dueDate: '2026-11-01', recertification: false }],
    ['not completed, due before d: overdue', enrollment('EHS-101'), { state: 'overdue', dueDate: '2026-11-01', recertification: false }],
    ['due on d: due soon, not yet overdue', enrollment('EHS-101', { dueDate: D }), { state: 'due-soon', dueDate: D, recertification: false }],
    ['due on d + 14: due soon', enrollment('EHS-101', { dueDate: addDays(D, 14) }), { state: 'due-soon', dueDate: addDays(D, 14), recertification: false }],
    ['due on d + 15: open', enrollment('EHS-101', { dueDate: addDays(D, 15) }), { state: 'open' }],
    ['no due date: open', enrollment('EHS-101', { dueDate: null }), { state: 'open' }],
    ['enrolled after d: not assigned at d', enrollment('EHS-101', { enrolledAt: '2026-11-21T08:00:00Z' }), { state: 'not-assigned' }],
    ['expired in the LMS: not met', enrollment('EHS-101', { status: 'expired', completedAt: '2026-10-02T00:00:00Z' }), { state: 'overdue', dueDate: '2026-11-01', recertification: false }],
    // BBP-201 recertifies every 12 months (1910.1030(g)(2)): a completion 13 months old has lapsed.
    ['annual course completed 13 months ago: recertification overdue', enrollment('BBP-201', { status: 'completed', completedAt: '2025-10-15T00:00:00Z', enrolledAt: '2025-10-01' }), { state: 'overdue', dueDate: '2026-10-15', recertification: true }],
    ['annual course completed 11.5 months ago: recertification due soon', enrollment('BBP-201', { status: 'completed', completedAt: '2025-12-01T00:00:00Z', enrolledAt: '2025-10-01' }), { state: 'due-soon', dueDate: '2026-12-01', recertification: true }],
    ['36-month course completed a year ago: met', enrollment('PSM-201', { status: 'completed', completedAt: '2025-11-01T00:00:00Z', enrolledAt: '2025-10-01' }), { state: 'met', completedOn: '2025-11-01' }],
  ])('%s', (_what, e, expected) => {
    expect(enrollmentStanding(e, org.courses.find((c) => c.code === e.courseId), D, 14)).toEqual(expected);
  });

  it('a person is overdue since the earliest missed due date, due soon from due date − N days, compliant since the latest completion or the start', () => {
    const overdue = learner('A', [enrollment('EHS-101', { dueDate: '2026-11-10' }), enrollment('EAP-101', { dueDate: '2026-11-05' }), enrollment('WEL-100', { dueDate: '2026-11-25' })]);
    expect(personCompliance(org, overdue, D)).toMatchObject({
      status: 'overdue',
      since: '2026-11-05',
      site: 'BAY',
      role: 'operator',
      overdueCourses: [expect.objectContaining({ courseId: 'EAP-101', dueDate: '2026-11-05' }), expect.objectContaining({ courseId: 'EHS-101', dueDate: '2026-11-10' })],
      dueSoonCourses: [expect.objectContaining({ courseId: 'WEL-100' })],
    });
    const soon = learner('B', [enrollment('EHS-101', { dueDate: '2026-11-28' })]);
    expect(personCompliance(org, soon, D)).toMatchObject({ status: 'due-soon', since: '2026-11-14' });
    const soonAfterStart = learner('B2', [enrollment('EHS-101', { dueDate: '2026-11-28', enrolledAt: '2026-11-18T08:00:00Z' })]);
    expect(personCompliance(org, soonAfterStart, D)).toMatchObject({ status: 'due-soon', since: '2026-11-18' });
    const done = learner('C', [
      enrollment('EHS-101', { status: 'completed', completedAt: '2026-10-20T10:00:00Z' }),
      enrollment('EAP-101', { status: 'completed', completedAt: '2026-10-28T10:00:00Z' }),
      enrollment('COC-100', { dueDate: '2026-12-30' }),
    ]);
    expect(personCompliance(org, done, D)).toMatchObject({ status: 'compliant', since: '2026-10-28', met: 2, required: 3 });
    const nothingYet = learner('D', [enrollment('COC-100', { dueDate: '2026-12-30', enrolledAt: '2026-10-05T08:00:00Z' })]);
    expect(personCompliance(org, nothingYet, D)).toMatchObject({ status: 'compliant', since: '2026-10-05' });
    // Courses outside the organisation's catalog are not hrsync's: they do not count.
    const foreign = learner('E', [enrollment('SOMEONE-ELSES-101', { dueDate: '2026-01-01' })]);
    expect(personCompliance(org, foreign, D)).toMatchObject({ status: 'compliant', required: 0, since: '2026-09-30' });
    // Unknown branch and role are reported, not dropped.
    expect(personCompliance(org, learner('F', [], { branch: 'BR-NOWHERE', role: null }), D)).toMatchObject({ site: '?', role: '?' });
  });

  it('compliance over time: a weekly point from the first start on, the share with nothing overdue at each date', () => {
    const people = [
      learner('A', [enrollment('EHS-101', { dueDate: '2026-11-02', enrolledAt: '2026-10-20' })]), // never completes
      learner('B', [enrollment('EHS-101', { dueDate: '2026-11-02', enrolledAt: '2026-10-20', status: 'completed', completedAt: '2026-11-12T00:00:00Z' })]), // late
      learner('C', [enrollment('EHS-101', { dueDate: '2026-11-30', enrolledAt: '2026-11-10' })]), // starts later
    ];
    const points = complianceOverTime(org, people, '2026-11-20', 12);
    expect(points).toEqual([
      { date: '2026-10-23', people: 2, compliant: 2, share: 1 },
      { date: '2026-10-30', people: 2, compliant: 2, share: 1 },
      { date: '2026-11-06', people: 2, compliant: 0, share: 0 },
      { date: '2026-11-13', people: 3, compliant: 2, share: 0.6667 },
      { date: '2026-11-20', people: 3, compliant: 2, share: 0.6667 },
    ]);
    expect(complianceOverTime(org, [], '2026-11-20')).toEqual([{ date: '2026-11-20', people: 0, compliant: 0, share: 0 }]);
  });

  it('the report counts per site and role, lists the overdue with their citations, filters a site, and refuses an unknown one', () => {
    const people = [
      learner('A', [enrollment('PSM-201', { dueDate: '2026-11-02' })]),
      learner('B', [enrollment('EHS-101', { dueDate: '2026-11-22' })], { role: 'technician' }),
      learner('C', [enrollment('WEL-100', { dueDate: '2026-11-03' })], { branch: 'BR-DAY' }),
      learner('Z', [enrollment('PSM-201', { dueDate: '2026-11-02' })], { active: false }),
    ];
    const report = complianceReport(org, people, { asOf: '2026-11-20' });
    expect(report.totals).toEqual({ people: 3, compliant: 0, dueSoon: 1, overdue: 2, compliantShare: 0 });
    expect(report.sites.map((s) => [s.site, s.people, s.roles.map((r) => [r.role, r.overdue, r.dueSoon])])).toEqual([
      ['BAY', 2, [['operator', 1, 0], ['technician', 0, 1]]],
      ['DAY', 1, [['operator', 1, 0]]],
    ]);
    expect(report.overdue.map((p) => [p.employeeId, p.since])).toEqual([['A', '2026-11-02'], ['C', '2026-11-03']]);
    expect(report.citations).toEqual([
      { courseId: 'PSM-201', title: expect.any(String), regulation: '29 CFR 1910.119(g)', requirement: expect.stringContaining('three years'), overduePeople: 1 },
      { courseId: 'WEL-100', title: 'Welcome to Gulfcoast Materials', regulation: null, requirement: null, overduePeople: 1 },
    ]);
    expect(complianceReport(org, people, { asOf: '2026-11-20', site: 'dayton manufacturing plant' }).people.map((p) => p.employeeId)).toEqual(['C']);
    expect(() => complianceReport(org, people, { asOf: '2026-11-20', site: 'MARS' })).toThrow(/site "MARS" is not in the organisation/);
    const csv = parse(complianceCsv(report), { columns: true }) as Record<string, string>[];
    expect(csv[0]).toEqual({ site: 'BAY', role: 'operator', employee: 'A', name: 'Person A', status: 'overdue', since: '2026-11-02', overdue_courses: 'PSM-201 (due 2026-11-02)', due_soon_courses: '' });
    expect(complianceCsv(report)).toContain('\r\n');
  });

  it('the limiter keeps at most n tasks in flight', async () => {
    const run = limiter(4);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 40 }, () =>
        run(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((r) => setTimeout(r, 2));
          active--;
        }),
      ),
    );
    expect(peak).toBe(4);
  });
});

describe('against the real stack', () => {
  let stack: TestStack;
  let browser: Browser | undefined;
  let env: NodeJS.ProcessEnv;
  const home = mkdtempSync(join(tmpdir(), 'hrsync-compliance-'));
  // The report is read three weeks from now: what the LMS holds, if nobody completes anything more.
  // (Hires due dates count from the later of the start date and today, so they are never in
  // the past when the hire is processed; a later report date is how they become overdue.)
  const REPORT_DAY = addDays(today, 21);

  type Plan = { profile: EmployeeProfile; complete: 'all' | 'none' | { dueBy: string } | { allBut: string[] }; expected: { status: string; since: string } };
  const at = (index: number, n: number, site?: string): EmployeeProfile => ({
    ...employeeProfile(n, SAMPLE_HIRES[index]!, today, 'CR'),
    ...(site ? { site } : {}),
  });
  // SAMPLE_HIRES: 0 chemical operator (BAY), 3 process technician (BAY), 2 maintenance technician (BAY),
  // 4 forklift operator (DAY), 5 production operator (DAY, temporary).
  const plans: Plan[] = [
    { profile: at(0, 0), complete: 'all', expected: { status: 'compliant', since: today } },
    { profile: at(0, 1), complete: 'none', expected: { status: 'overdue', since: today } },
    { profile: at(3, 2), complete: { dueBy: addDays(today, 7) }, expected: { status: 'due-soon', since: addDays(today, 30 - 14) } },
    { profile: at(2, 3), complete: { allBut: ['WEL-100'] }, expected: { status: 'overdue', since: addDays(today, 7) } },
    { profile: at(4, 4), complete: 'all', expected: { status: 'compliant', since: today } },
    { profile: at(4, 5), complete: { dueBy: addDays(today, 7) }, expected: { status: 'due-soon', since: addDays(today, 30 - 14) } },
    { profile: at(5, 6), complete: 'none', expected: { status: 'overdue', since: today } },
  ];
  const roleOf = (p: EmployeeProfile) => org.jobCodes.find((j) => j.code === p.jobCode)!.role;
  const expectedStatus = Object.fromEntries(plans.map((p) => [p.profile.id, p.expected]));
  let report: ComplianceReport;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startTestStack();
    env = stackEnvironment(stack, home);
    await Promise.all(
      plans.map(async ({ profile }) => {
        stack.hris.upsertEmployee(bambooRecord(profile));
        const event = hireEvent(profile);
        expect((await stack.postEvent(event)).status).toBe(202);
        await stack.resultOf(`onboarding-${profile.id}-${event.id}`);
      }),
    );
    for (const { profile, complete } of plans) {
      const enrollments = stack.learnersFor(profile.id)[0]!.enrollments;
      const todo = enrollments.filter((e) =>
        complete === 'all' ? true : complete === 'none' ? false : 'dueBy' in complete ? e.due_date! <= complete.dueBy : !complete.allBut.includes(e.course_code!),
      );
      for (const e of todo) await stack.complete(profile.id, e.course_code!);
    }
    report = await readComplianceReport(stack.config, org, { asOf: REPORT_DAY });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('counts per site and role and lists the overdue people, since when, with the regulations behind their courses', () => {
    expect(report.asOf).toBe(REPORT_DAY);
    expect(Object.fromEntries(report.people.map((p) => [p.employeeId, { status: p.status, since: p.since }]))).toEqual(expectedStatus);
    expect(report.totals).toEqual({ people: 7, compliant: 2, dueSoon: 2, overdue: 3, compliantShare: 0.2857 });
    const expectedSites = ['BAY', 'DAY'].map((site) => {
      const here = plans.filter((p) => p.profile.site === site);
      const roles = [...new Set(here.map((p) => roleOf(p.profile)))];
      const n = (list: Plan[], s: string) => list.filter((p) => p.expected.status === s).length;
      return {
        site,
        people: here.length,
        overdue: n(here, 'overdue'),
        roles: Object.fromEntries(roles.map((r) => {
          const theirs = here.filter((p) => roleOf(p.profile) === r);
          return [r, [theirs.length, n(theirs, 'compliant'), n(theirs, 'due-soon'), n(theirs, 'overdue')]];
        })),
      };
    });
    expect(report.sites.map((s) => ({ site: s.site, people: s.people, overdue: s.overdue, roles: Object.fromEntries(s.roles.map((r) => [r.role, [r.people, r.compliant, r.dueSoon, r.overdue]])) }))).toEqual(expectedSites);
    expect(report.overdue.map((p) => [p.employeeId, p.since])).toEqual([
      [plans[1]!.profile.id, today],
      [plans[6]!.profile.id, today],
      [plans[3]!.profile.id, addDays(today, 7)],
    ]);
    expect(report.overdue[2]!.overdueCourses.map((c) => c.courseId)).toEqual(['WEL-100']);
    const citation = (course: string) => report.citations.find((c) => c.courseId === course);
    expect(citation('PSM-201')).toMatchObject({ regulation: '29 CFR 1910.119(g)', overduePeople: 1 }); // the Baytown operator
    expect(citation('HAZ-101')).toMatchObject({ regulation: '29 CFR 1910.1200(h)', overduePeople: 2 });
    expect(citation('WEL-100')).toMatchObject({ regulation: null, overduePeople: 3 });
    // Week by week from the hires on: all fine today, the operators' first-shift courses missed
    // after it, the welcome course a week later.
    expect(report.overTime).toEqual([
      { date: today, people: 7, compliant: 7, share: 1 },
      { date: addDays(today, 7), people: 7, compliant: 5, share: 0.7143 },
      { date: addDays(today, 14), people: 7, compliant: 4, share: 0.5714 },
      { date: REPORT_DAY, people: 7, compliant: 4, share: 0.5714 },
    ]);
  });

  it('hrsync report compliance --format json (and csv, text, --site, errors) as a separate process', async () => {
    const json = await runHrsync(env, 'report', 'compliance', '--format', 'json', '--as-of', REPORT_DAY);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as ComplianceReport;
    expect(doc.totals).toEqual(report.totals);
    expect(doc.sites).toEqual(report.sites);
    expect(doc.overdue.map((p) => p.employeeId)).toEqual(report.overdue.map((p) => p.employeeId));
    expect(doc.overTime).toEqual(report.overTime);

    // Today, nothing is overdue yet: what is due before the first shift is due today.
    const now = JSON.parse((await runHrsync(env, 'report', 'compliance', '--format', 'json')).stdout) as ComplianceReport;
    expect(now.asOf).toBe(today);
    expect(now.totals).toEqual({ people: 7, compliant: 4, dueSoon: 3, overdue: 0, compliantShare: 0.5714 });

    const csv = await runHrsync(env, 'report', 'compliance', '--site', 'DAY', '--format', 'csv', '--as-of', REPORT_DAY);
    expect(csv.code).toBe(0);
    const rows = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.site, r.employee, r.status, r.since])).toEqual(
      report.people.filter((p) => p.site === 'DAY').map((p) => ['DAY', p.employeeId, p.status, p.since]),
    );

    const text = await runHrsync(env, 'report', 'compliance', '--as-of', REPORT_DAY, '--due-soon-days', '7');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('due soon: within 7 days');
    expect(text.stdout).toContain(plans[1]!.profile.id);

    for (const [args, message] of [
      [['--site', 'MARS'], /site "MARS" is not in the organisation/],
      [['--as-of', '2026-13-01'], /--as-of must be a date/],
      [['--format', 'pdf'], /--format must be one of/],
      [['--due-soon-days', 'soon'], /--due-soon-days must be a whole number/],
    ] as const) {
      const bad = await runHrsync(env, 'report', 'compliance', ...args);
      expect(bad.code).not.toBe(0);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(message);
    }
  });

  it('the HTML page is self-contained and its numbers, overdue list and chart match the report (headless Chromium)', async () => {
    const file = join(home, 'compliance.html');
    const written = await runHrsync(env, 'report', 'compliance', '--as-of', REPORT_DAY, '--out', file);
    expect(written.code).toBe(0);
    expect(written.stdout).toContain(`wrote ${file} (html)`);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link|<img|<iframe|@import|url\(/i);

    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    expect(requested).toEqual([pathToFileURL(file).href]); // nothing fetched but the page itself

    const number = async (testid: string) => (await page.getByTestId(testid).textContent())!.trim();
    expect(Number(await number('total-people'))).toBe(report.totals.people);
    expect(Number(await number('total-compliant'))).toBe(report.totals.compliant);
    expect(Number(await number('total-due-soon'))).toBe(report.totals.dueSoon);
    expect(Number(await number('total-overdue'))).toBe(report.totals.overdue);
    for (const site of report.sites) {
      expect(Number(await page.locator(`[data-testid="site-count"][data-site="${site.site}"][data-status="overdue"]`).textContent())).toBe(site.overdue);
      for (const role of site.roles) {
        for (const [status, n] of [['people', role.people], ['compliant', role.compliant], ['due-soon', role.dueSoon], ['overdue', role.overdue]] as const) {
          const cell = page.locator(`[data-testid="count"][data-site="${site.site}"][data-role="${role.role}"][data-status="${status}"]`);
          expect(Number(await cell.textContent()), `${site.site} ${role.role} ${status}`).toBe(n);
        }
      }
    }
    const overdueRows = page.getByTestId('overdue-person');
    expect(await overdueRows.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-employee'), r.getAttribute('data-since')]))).toEqual(
      report.overdue.map((p) => [p.employeeId, p.since]),
    );
    const citations = await page.getByTestId('citation').evaluateAll((items) => items.map((i) => i.getAttribute('data-course')));
    expect(citations).toEqual(report.citations.map((c) => c.courseId));
    expect(await page.getByTestId('citations').textContent()).toContain('29 CFR 1910.119(g)');

    // The chart: one dot per week, a polyline through them, both axes.
    const chart = page.getByTestId('compliance-chart');
    await chart.scrollIntoViewIfNeeded();
    expect(await chart.evaluate((svg) => svg.tagName.toLowerCase())).toBe('svg');
    const points = await page.getByTestId('chart-point').evaluateAll((dots) => dots.map((d) => ({ date: d.getAttribute('data-date'), share: Number(d.getAttribute('data-share')) })));
    expect(points).toEqual(report.overTime.map((p) => ({ date: p.date, share: p.share })));
    expect(points).toHaveLength(4);
    const polyline = await page.getByTestId('chart-line').getAttribute('points');
    expect(polyline!.trim().split(/\s+/)).toHaveLength(report.overTime.length);
    expect(await page.getByTestId('chart-x-axis').count()).toBe(1);
    expect(await page.getByTestId('chart-y-axis').count()).toBe(1);
    const box = await chart.boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    // The embedded data is the report.
    expect(JSON.parse((await page.locator('#compliance-report-data').textContent())!)).toEqual(JSON.parse(JSON.stringify(report)));

    await page.screenshot({ path: resolve(ARTIFACTS, 'compliance-report.png'), fullPage: true });
    await page.close();
  });
});

describe('at 10,000 learners', () => {
  it('reads the LMS in pages with bounded concurrency, and counts everyone right', async () => {
    const lms = await startLmsSimulator({ courses: org.courses, branches: org.branches, clientSecret: 'scale' });
    try {
      const asOf = today;
      const token = (
        (await (await fetch(`${lms.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=hrsync&client_secret=scale' })).json()) as { access_token: string }
      ).access_token;
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${lms.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
        return (await res.json()) as { data: Record<string, unknown> & { items?: Record<string, unknown>[] } };
      };
      const branchId = new Map(((await api('GET', '/manage/v1/orgchart?page_size=200')).data.items ?? []).map((b) => [String(b.code), Number(b.id_org)]));
      const courseId = new Map(((await api('GET', '/learn/v1/courses?page_size=200')).data.items ?? []).map((c) => [String(c.code), Number(c.id_course)]));
      const branches = ['BR-BAY', 'BR-DAY', 'BR-CLN', 'BR-HQ'];
      const N = 10_000;
      const seed = limiter(32);
      const ids: number[] = new Array(N);
      await Promise.all(
        Array.from({ length: N + 100 }, (_, i) =>
          seed(async () => {
            const res = await api('POST', '/manage/v1/user', {
              userid: `scale${i}`,
              email: `scale${i}@example.com`,
              firstname: 'Scale',
              lastname: String(i),
              // 100 accounts hrsync does not manage: no HRIS employee id.
              ...(i < N ? { external_id: `S${i}` } : {}),
              role: i % 2 ? 'technician' : 'operator',
              branch_id: branchId.get(branches[i % 4]!),
            });
            if (i < N) ids[i] = Number(res.data.user_id);
          }),
        ),
      );
      // 40% overdue (due 10 days ago), 30% due soon (in 5 days), 30% compliant (completed).
      const group = (i: number) => (i % 10 < 4 ? 'overdue' : i % 10 < 7 ? 'due-soon' : 'compliant');
      const courses = ['EHS-101', 'HAZ-101', 'WEL-100'];
      for (const [g, due] of [['overdue', addDays(asOf, -10)], ['due-soon', addDays(asOf, 5)], ['compliant', addDays(asOf, -10)]] as const) {
        const users = ids.filter((_, i) => group(i) === g);
        await api('POST', '/learn/v1/enrollments', { course_ids: courses.map((c) => courseId.get(c)), user_ids: users, due_date: due });
      }
      const completions = ids.flatMap((_, i) => (group(i) === 'compliant' ? courses.map((c) => ({ externalId: `S${i}`, courseCode: c, completedAt: `${addDays(asOf, -12)}T09:00:00Z` })) : []));
      await Promise.all(completions.map((c) => seed(() => fetch(`${lms.url}/sim/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c) }))));
      // 200 of them have left: their accounts are deactivated, they are not in the report.
      await api('PUT', '/manage/v1/user/change_status', { user_ids: ids.filter((_, i) => i % 50 === 1), status: 0 });

      const before = lms.stats.requests;
      const reader = doceboRoster({ baseUrl: lms.url, clientId: 'hrsync', clientSecret: 'scale' }, { concurrency: 16 });
      const started = Date.now();
      const roster = await reader.listLearners();
      const took = Date.now() - started;
      const report = complianceReport(org, roster, { asOf });
      expect(roster).toHaveLength(N - 200);
      const expected = (g: string) => ids.filter((_, i) => i % 50 !== 1 && group(i) === g).length;
      expect(report.totals).toMatchObject({ people: N - 200, overdue: expected('overdue'), dueSoon: expected('due-soon'), compliant: expected('compliant') });
      expect(report.sites.map((s) => s.site)).toEqual(['BAY', 'DAY', 'CLN', 'HQ']);
      expect(report.sites.reduce((n, s) => n + s.people, 0)).toBe(N - 200);
      // Paged listings (200 a page) and one detail read per active learner; no per-learner listing.
      const pages = Math.ceil((N + 100) / 200) + Math.ceil((N * 3) / 200);
      expect(lms.stats.requests - before).toBe(pages + (N - 200));
      expect(reader.requests).toBe(pages + (N - 200) + 1); // + the token
      expect(took).toBeLessThan(60_000);
      console.info(`10,000 learners: the LMS read took ${took} ms (${reader.requests} requests, 16 at a time)`);
    } finally {
      await lms.close();
    }
  }, 240_000);
});
