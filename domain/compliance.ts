import { addDays, addMonths } from './dates';
import type { EnrollmentStatus } from './lms-state';
import type { Course, Organisation } from './organisation';

// The compliance report (`hrsync report compliance`): who is compliant, overdue or due soon, per
// site and role, since when, and how the share of compliant people moved week by week. Pure
// functions over what the LMS holds; no clock (the caller passes `asOf`), no I/O.
//
// Definitions (the report states them too, see DEFINITIONS):
//
// - Population. The LMS's ACTIVE learners that carry an HRIS employee id (the external id hrsync
//   sets; admin and other accounts hrsync does not manage are left out). A person's site is the
//   organisation's site whose `branch` is the learner's LMS branch; the role is the learner's LMS
//   role (the organisation's `roles`). A branch no site names is reported as site "?".
// - Required training. The learner's enrollments in the ORGANISATION's courses (what hrsync
//   manages); enrollments in other courses are ignored. An enrollment made after a date does not
//   count at that date.
// - An enrollment is MET at date d when the LMS has it `completed` on or before d (a completion
//   date after d does not count at d) and, for a course with `recertifyMonths`, the completion has
//   not lapsed: it then falls due again on completion + recertifyMonths (SPEC §10: PSM refresher
//   every 36 months, bloodborne pathogens every 12). An enrollment the LMS marks `expired` is not
//   met. An unmet enrollment is OVERDUE at d when its due date is before d, DUE SOON when its due
//   date is between d and d + N days (both included; N = `dueSoonDays`, default 14), and open
//   otherwise (including when it has no due date).
// - Status of a person at `asOf`:
//     overdue   any required enrollment is overdue;   since = the earliest of those due dates;
//     due-soon  else, any is due soon;                 since = that earliest due date − N days
//                                                      (not before the person's start);
//     compliant otherwise;                             since = the latest completion of a met
//                                                      enrollment, else the person's start.
//   The start of a person is their earliest enrollment date in the organisation's courses, else
//   the creation date of the LMS account.
// - Compliance over time. For each week ending at `asOf` (asOf, asOf − 7 days, … , `weeks` points,
//   default 12; none before the earliest start in the population, so a younger population gives
//   fewer points): among the people of the report who had started by that date, the share with
//   nothing overdue at that date, i.e. every enrollment due before d was completed by d (and had
//   not lapsed). The last point therefore equals (compliant + due soon) / people. Only today's
//   population is known: people who have left since are not in the earlier points.

export const DEFAULT_DUE_SOON_DAYS = 14;
export const DEFAULT_WEEKS = 12;
/** The site of a learner whose LMS branch no site of the organisation names. */
export const UNKNOWN_SITE = '?';
export const NO_ROLE = '?';

export const DEFINITIONS = {
  population: 'Active LMS learners with an HRIS employee id; site from the LMS branch, role from the LMS role.',
  requiredTraining: "The learner's LMS enrollments in the organisation's courses (the ones hrsync manages).",
  met: 'Completed on or before the date and, for a course with a recertification interval, not lapsed (due again at completion + interval). Expired enrollments are not met.',
  overdue: 'Any required enrollment not met and due before the report date; since = the earliest such due date.',
  dueSoon: 'Otherwise, any not met and due within the due-soon window (report date to report date + N days); since = that due date − N days.',
  compliant: 'Otherwise; since = the latest completion, or the start of the person (first enrollment, else account creation).',
  overTime: 'For each week ending at the report date: among the people who had started by then, the share with nothing overdue at that date.',
} as const;

export type ComplianceStatus = 'compliant' | 'due-soon' | 'overdue';
export const STATUSES: ComplianceStatus[] = ['compliant', 'due-soon', 'overdue'];

/** One enrollment of a learner as the LMS holds it. */
export interface RosterEnrollment {
  courseId: string;
  status: EnrollmentStatus;
  /** YYYY-MM-DD, or null when the LMS holds no due date. */
  dueDate: string | null;
  /** ISO date or date-time of the completion, when completed. */
  completedAt: string | null;
  /** ISO date or date-time of the enrollment, when the LMS says. */
  enrolledAt: string | null;
}

/** One LMS learner, read in bulk (see activities/lms-roster.ts). */
export interface RosterLearner {
  employeeId: string;
  lmsUserId: string;
  name: string;
  active: boolean;
  /** The LMS branch code. */
  branch: string | null;
  /** The LMS role id. */
  role: string | null;
  createdAt: string | null;
  enrollments: RosterEnrollment[];
}

export interface CourseDue {
  courseId: string;
  title: string;
  dueDate: string;
  /** The due date is a recertification (the completion of `completedOn` lapsed). */
  recertification: boolean;
}

export interface PersonCompliance {
  employeeId: string;
  name: string;
  lmsUserId: string;
  site: string;
  siteName: string;
  role: string;
  roleTitle: string;
  status: ComplianceStatus;
  since: string | null;
  start: string | null;
  overdueCourses: CourseDue[];
  dueSoonCourses: CourseDue[];
  /** How many of the organisation's courses the person is enrolled in, and how many are met. */
  required: number;
  met: number;
}

export interface Counts {
  people: number;
  compliant: number;
  dueSoon: number;
  overdue: number;
  /** compliant / people, 0..1 (0 when nobody). */
  compliantShare: number;
}

export interface SiteCompliance extends Counts {
  site: string;
  siteName: string;
  branch: string | null;
  roles: (Counts & { role: string; roleTitle: string })[];
}

export interface OverTimePoint {
  date: string;
  /** People of the report who had started by that date. */
  people: number;
  /** Of them, those with nothing overdue at that date. */
  compliant: number;
  share: number;
}

export interface CitationLine {
  courseId: string;
  title: string;
  /** null: company policy, no regulation cited by the organisation. */
  regulation: string | null;
  requirement: string | null;
  overduePeople: number;
}

export interface ComplianceReport {
  organisation: string;
  asOf: string;
  dueSoonDays: number;
  /** The --site filter, when given. */
  site: string | null;
  definitions: typeof DEFINITIONS;
  totals: Counts;
  sites: SiteCompliance[];
  people: PersonCompliance[];
  /** The overdue people, longest overdue first. */
  overdue: PersonCompliance[];
  /** The regulations behind the overdue courses (SPEC §10). */
  citations: CitationLine[];
  overTime: OverTimePoint[];
}

export interface ComplianceOptions {
  /** YYYY-MM-DD. */
  asOf: string;
  dueSoonDays?: number;
  /** A site code (or name) to report on alone. */
  site?: string;
  weeks?: number;
}

/** The UTC day of an ISO date or date-time. */
export function dayOf(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const t = Date.parse(value);
  return Number.isNaN(t) ? value.slice(0, 10) : new Date(t).toISOString().slice(0, 10);
}

const minOf = (days: (string | null | undefined)[]) => days.filter((d): d is string => !!d).sort()[0] ?? null;
const maxOf = (days: (string | null | undefined)[]) => days.filter((d): d is string => !!d).sort().at(-1) ?? null;

export type Standing =
  | { state: 'not-assigned' }
  | { state: 'met'; completedOn: string | null }
  | { state: 'open' }
  | { state: 'due-soon' | 'overdue'; dueDate: string; recertification: boolean };

/** Where one enrollment stands at date `d` (YYYY-MM-DD); see the definitions above. */
export function enrollmentStanding(e: RosterEnrollment, course: Pick<Course, 'recertifyMonths'> | undefined, d: string, dueSoonDays: number): Standing {
  if (e.enrolledAt && dayOf(e.enrolledAt) > d) return { state: 'not-assigned' };
  const completedOn = e.completedAt ? dayOf(e.completedAt) : null;
  const deadline = (dueDate: string | null, recertification: boolean, otherwise: Standing): Standing => {
    if (!dueDate) return otherwise;
    if (dueDate < d) return { state: 'overdue', dueDate, recertification };
    if (dueDate <= addDays(d, dueSoonDays)) return { state: 'due-soon', dueDate, recertification };
    return otherwise;
  };
  const recertifyMonths = course?.recertifyMonths;
  if (e.status === 'completed' && (completedOn === null || completedOn <= d)) {
    const lapses = recertifyMonths && completedOn ? addMonths(completedOn, recertifyMonths) : null;
    return deadline(lapses, true, { state: 'met', completedOn });
  }
  // Not met at d: never completed, completed only after d, or expired in the LMS.
  const dueDate = e.dueDate ?? (e.status === 'expired' && recertifyMonths && completedOn ? addMonths(completedOn, recertifyMonths) : null);
  return deadline(dueDate, false, { state: 'open' });
}

function siteOf(org: Organisation, branch: string | null) {
  const site = branch ? org.sites.find((s) => s.branch === branch) : undefined;
  return site ? { site: site.code, siteName: site.name } : { site: UNKNOWN_SITE, siteName: branch ? `branch ${branch} (no site)` : 'no branch' };
}

function roleOf(org: Organisation, role: string | null) {
  const known = role ? org.roles.find((r) => r.id === role) : undefined;
  return { role: role ?? NO_ROLE, roleTitle: known?.title ?? (role ? `${role} (not in the organisation)` : 'no role') };
}

const courseMaps = new WeakMap<Organisation, Map<string, Course>>();
const managed = (org: Organisation, learner: RosterLearner) => {
  const courses = courseMaps.get(org) ?? new Map(org.courses.map((c) => [c.code, c]));
  courseMaps.set(org, courses);
  return learner.enrollments.flatMap((enrollment) => {
    const course = courses.get(enrollment.courseId);
    return course ? [{ enrollment, course }] : [];
  });
};

/** When the person started, for the report: the first enrollment in the organisation's courses, else the account. */
export function startOf(org: Organisation, learner: RosterLearner): string | null {
  return minOf(managed(org, learner).map(({ enrollment }) => (enrollment.enrolledAt ? dayOf(enrollment.enrolledAt) : null))) ?? (learner.createdAt ? dayOf(learner.createdAt) : null);
}

/** One person's status at `asOf`. */
export function personCompliance(org: Organisation, learner: RosterLearner, asOf: string, dueSoonDays = DEFAULT_DUE_SOON_DAYS): PersonCompliance {
  const required = managed(org, learner);
  const standings = required.map(({ enrollment, course }) => ({ course, standing: enrollmentStanding(enrollment, course, asOf, dueSoonDays) }));
  const dues = (state: 'overdue' | 'due-soon'): CourseDue[] =>
    standings
      .flatMap(({ course, standing }) =>
        standing.state === state ? [{ courseId: course.code, title: course.title, dueDate: standing.dueDate, recertification: standing.recertification }] : [],
      )
      .sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.courseId.localeCompare(b.courseId));
  const overdueCourses = dues('overdue');
  const dueSoonCourses = dues('due-soon');
  const start = startOf(org, learner);
  let status: ComplianceStatus;
  let since: string | null;
  if (overdueCourses.length) {
    status = 'overdue';
    since = overdueCourses[0]!.dueDate;
  } else if (dueSoonCourses.length) {
    status = 'due-soon';
    since = maxOf([addDays(dueSoonCourses[0]!.dueDate, -dueSoonDays), start]);
  } else {
    status = 'compliant';
    since = maxOf(standings.map(({ standing }) => (standing.state === 'met' ? standing.completedOn : null))) ?? start;
  }
  return {
    employeeId: learner.employeeId,
    name: learner.name,
    lmsUserId: learner.lmsUserId,
    ...siteOf(org, learner.branch),
    ...roleOf(org, learner.role),
    status,
    since,
    start,
    overdueCourses,
    dueSoonCourses,
    required: required.length,
    met: standings.filter(({ standing }) => standing.state === 'met').length,
  };
}

/** Whether the person had nothing overdue at `d` (the measure of the chart); null if not started by then. */
export function compliantAt(org: Organisation, learner: RosterLearner, d: string): boolean | null {
  const start = startOf(org, learner);
  if (start && start > d) return null;
  return !managed(org, learner).some(({ enrollment, course }) => enrollmentStanding(enrollment, course, d, 0).state === 'overdue');
}

/** The weekly series ending at `asOf`, from the earliest start in the population on. */
export function complianceOverTime(org: Organisation, learners: RosterLearner[], asOf: string, weeks = DEFAULT_WEEKS): OverTimePoint[] {
  const firstStart = minOf(learners.map((l) => startOf(org, l)));
  const points: OverTimePoint[] = [];
  for (let k = weeks - 1; k >= 0; k--) {
    const date = addDays(asOf, -7 * k);
    if (firstStart && date < firstStart && k > 0) continue;
    let people = 0;
    let compliant = 0;
    for (const learner of learners) {
      const at = compliantAt(org, learner, date);
      if (at === null) continue;
      people++;
      if (at) compliant++;
    }
    if (people || k === 0) points.push({ date, people, compliant, share: people ? round(compliant / people) : 0 });
  }
  return points;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function count(people: PersonCompliance[]): Counts {
  const n = (s: ComplianceStatus) => people.filter((p) => p.status === s).length;
  const compliant = n('compliant');
  return { people: people.length, compliant, dueSoon: n('due-soon'), overdue: n('overdue'), compliantShare: people.length ? round(compliant / people.length) : 0 };
}

/** Finds a site of the organisation by code or name (any case); undefined if none. */
export function siteByCodeOrName(org: Organisation, site: string) {
  const wanted = site.trim().toLowerCase();
  return org.sites.find((s) => s.code.toLowerCase() === wanted || s.name.toLowerCase() === wanted);
}

/** The whole report: per site and role, the people, the overdue list, the citations and the weekly series. */
export function complianceReport(org: Organisation, roster: RosterLearner[], options: ComplianceOptions): ComplianceReport {
  const asOf = options.asOf;
  const dueSoonDays = options.dueSoonDays ?? DEFAULT_DUE_SOON_DAYS;
  let siteFilter: string | null = null;
  if (options.site !== undefined) {
    const site = siteByCodeOrName(org, options.site);
    if (!site) throw new Error(`site "${options.site}" is not in the organisation (${org.sites.map((s) => s.code).join(', ')})`);
    siteFilter = site.code;
  }
  const siteOrder = new Map(org.sites.map((s, i) => [s.code, i]));
  const roleOrder = new Map(org.roles.map((r, i) => [r.id, i]));
  const bySiteRole = (a: { site: string; role: string }, b: { site: string; role: string }) =>
    (siteOrder.get(a.site) ?? 1e9) - (siteOrder.get(b.site) ?? 1e9) || a.site.localeCompare(b.site) || (roleOrder.get(a.role) ?? 1e9) - (roleOrder.get(b.role) ?? 1e9) || a.role.localeCompare(b.role);

  const learners = roster.filter((l) => l.active && (!siteFilter || siteOf(org, l.branch).site === siteFilter));
  const people = learners
    .map((l) => personCompliance(org, l, asOf, dueSoonDays))
    .sort((a, b) => bySiteRole(a, b) || a.employeeId.localeCompare(b.employeeId));

  const sites: SiteCompliance[] = [];
  for (const p of people) {
    let site = sites.find((s) => s.site === p.site);
    if (!site) {
      site = { site: p.site, siteName: p.siteName, branch: org.sites.find((s) => s.code === p.site)?.branch ?? null, ...count([]), roles: [] };
      sites.push(site);
    }
  }
  for (const site of sites) {
    const here = people.filter((p) => p.site === site.site);
    Object.assign(site, count(here));
    const roles = [...new Set(here.map((p) => p.role))];
    site.roles = roles
      .map((role) => {
        const theirs = here.filter((p) => p.role === role);
        return { role, roleTitle: theirs[0]!.roleTitle, ...count(theirs) };
      })
      .sort((a, b) => bySiteRole({ site: site.site, role: a.role }, { site: site.site, role: b.role }));
  }

  const overdue = people.filter((p) => p.status === 'overdue').sort((a, b) => (a.since ?? '').localeCompare(b.since ?? '') || a.employeeId.localeCompare(b.employeeId));
  const overdueCourse = new Map<string, number>();
  for (const p of overdue) for (const c of p.overdueCourses) overdueCourse.set(c.courseId, (overdueCourse.get(c.courseId) ?? 0) + 1);
  const citations: CitationLine[] = [...overdueCourse.entries()]
    .map(([courseId, overduePeople]) => {
      const course = org.courses.find((c) => c.code === courseId)!;
      return { courseId, title: course.title, regulation: course.citation?.regulation ?? null, requirement: course.citation?.requirement ?? null, overduePeople };
    })
    .sort((a, b) => (a.regulation === null ? 1 : 0) - (b.regulation === null ? 1 : 0) || (a.regulation ?? '').localeCompare(b.regulation ?? '') || a.courseId.localeCompare(b.courseId));

  return {
    organisation: org.name,
    asOf,
    dueSoonDays,
    site: siteFilter,
    definitions: DEFINITIONS,
    totals: count(people),
    sites,
    people,
    overdue,
    citations,
    overTime: complianceOverTime(org, learners, asOf, options.weeks ?? DEFAULT_WEEKS),
  };
}
