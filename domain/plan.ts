import type { HrProfile } from './hr-event';
import type { Organisation, RequirementRule, Site } from './organisation';
import type { ActualLmsState, DesiredEnrollment, DesiredLmsState, LearnerAccount, PlanStep } from './lms-state';
import { addDays, instantOf, isBefore, laterOf } from './dates';

// Desired state, plan, apply: these two pure functions are the heart of hrsync. They run inside
// workflow code, so they must stay deterministic: no clock, no I/O, no randomness.

const sameText = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

export function findSite(org: Organisation, site: string): Site | undefined {
  return org.sites.find((s) => sameText(s.code, site) || sameText(s.name, site));
}

function ruleApplies(rule: RequirementRule, profile: HrProfile, site: Site | undefined, departmentCode: string | undefined): boolean {
  const { when } = rule;
  if (when.jobCodes && !when.jobCodes.includes(profile.jobCode)) return false;
  if (when.sites && !(site && when.sites.includes(site.code))) return false;
  if (when.departments && !(departmentCode && when.departments.includes(departmentCode))) return false;
  if (when.employmentTypes && !when.employmentTypes.includes(profile.employmentType)) return false;
  if (when.psmSite !== undefined && (site?.psmCovered ?? false) !== when.psmSite) return false;
  if (when.accessGroups && !when.accessGroups.some((g) => profile.accessGroups?.includes(g))) return false;
  if (when.coveredTasks) {
    const tasks = (profile.contract?.coveredTasks ?? []).map((t) => t.trim().toLowerCase());
    if (!when.coveredTasks.some((t) => tasks.includes(t.trim().toLowerCase()))) return false;
  }
  return true;
}

/**
 * What the LMS should hold for this person at `asOf` (an ISO date, or a date-time for a moment
 * within a day): account, branch, groups and the enrollments every matching requirement rule
 * asks for. Due dates count from the later of the start date and the day of `asOf`, so a hire is
 * due before the first shift and a role change from its effective date. The account is inactive
 * from the moment of a separation (termination, or a contractor's contract end) onwards.
 */
export function desiredLmsState(profile: HrProfile, org: Organisation, asOf: string): DesiredLmsState {
  const unresolved: string[] = [];
  const site = findSite(org, profile.site);
  if (!site) unresolved.push(`site "${profile.site}" is not in the organisation`);
  const job = org.jobCodes.find((j) => j.code === profile.jobCode);
  const mapped = job ? undefined : profile.jobMapping;
  if (!job && !mapped) unresolved.push(`job code "${profile.jobCode}" is not in the organisation`);
  const department = org.departments.find((d) => sameText(d.code, profile.department) || sameText(d.name, profile.department));
  if (!department) unresolved.push(`department "${profile.department}" is not in the organisation`);

  const separatedAt = separationOf(profile);
  const active = !separatedAt || isBefore(asOf, separatedAt);

  const groups = new Set<string>([...(site?.groups ?? []), ...(job?.groups ?? mapped?.groups ?? [])]);
  if (department) groups.add(department.group);
  const typeGroup = org.employmentTypeGroups[profile.employmentType];
  if (typeGroup) groups.add(typeGroup);
  groups.add(`${org.cohortGroupPrefix}${profile.startDate.slice(0, 7)}`);
  for (const name of profile.accessGroups ?? []) {
    const mirrored = org.accessGroups.find((a) => a.name === name)?.group;
    if (mirrored) groups.add(mirrored);
  }

  const anchor = laterOf(profile.startDate, asOf.slice(0, 10));
  const byCourse = new Map<string, DesiredEnrollment>();
  const curriculaWanted = org.requirements.filter((rule) => ruleApplies(rule, profile, site, department?.code)).flatMap((rule) => rule.curricula);
  for (const curriculumId of [...new Set([...curriculaWanted, ...(mapped?.curricula ?? [])])]) {
    const curriculum = org.curricula.find((c) => c.id === curriculumId);
    for (const item of curriculum?.items ?? []) {
      const dueDate = addDays(anchor, item.dueOffsetDays);
      const seen = byCourse.get(item.course);
      if (!seen) {
        byCourse.set(item.course, { courseId: item.course, dueDate, requiredBy: [curriculumId] });
      } else {
        if (dueDate < seen.dueDate) seen.dueDate = dueDate;
        if (!seen.requiredBy.includes(curriculumId)) seen.requiredBy.push(curriculumId);
      }
    }
  }

  const account: LearnerAccount = {
    externalId: profile.id,
    username: profile.email.toLowerCase(),
    firstName: profile.firstName,
    lastName: profile.lastName,
    email: profile.email,
    role: job?.role ?? mapped?.role ?? null,
    managerId: profile.managerId ?? null,
  };

  return {
    employeeId: profile.id,
    active,
    account,
    branch: site?.branch ?? null,
    groups: [...groups].sort(),
    enrollments: [...byCourse.values()].sort((a, b) => a.courseId.localeCompare(b.courseId)),
    unresolved,
    managed: {
      courses: org.courses.map((c) => c.code),
      groups: org.groups.map((g) => g.code),
      groupPrefixes: [org.cohortGroupPrefix],
    },
  };
}

/**
 * When this employment ends: the termination, or a contractor's contract end, whichever comes
 * first. (A termination may come before the start date: an offer withdrawn before day one.)
 */
export function separationOf(profile: HrProfile): string | undefined {
  const termination = profile.terminationDate ?? undefined;
  const contractEnd = profile.employmentType === 'contractor' ? profile.contract?.endDate : undefined;
  return [termination, contractEnd].filter((d): d is string => !!d).sort((a, b) => instantOf(a) - instantOf(b))[0];
}

const ACCOUNT_FIELDS = ['username', 'firstName', 'lastName', 'email', 'role', 'managerId'] as const;

/**
 * The steps that take the LMS from `actual` to `desired`, in the order they must be applied.
 * Empty when the LMS already matches. Completed training is never removed, and nothing hrsync
 * does not own (see `desired.managed`) is touched.
 */
export function planChanges(desired: DesiredLmsState, actual: ActualLmsState | null): PlanStep[] {
  if (!desired.active) {
    return actual?.active ? [{ action: 'deactivate_user' }] : [];
  }

  const steps: PlanStep[] = [];
  if (!actual) {
    steps.push({ action: 'create_user', account: desired.account, branch: desired.branch });
  } else {
    if (!actual.active) steps.push({ action: 'activate_user' });
    const changes: Partial<LearnerAccount> = {};
    for (const field of ACCOUNT_FIELDS) {
      if (desired.account[field] !== actual.account[field]) Object.assign(changes, { [field]: desired.account[field] });
    }
    if (Object.keys(changes).length) steps.push({ action: 'update_user', changes });
    if (desired.branch && desired.branch !== actual.branch) {
      steps.push({ action: 'set_branch', from: actual.branch, to: desired.branch });
    }
  }

  const actualGroups = new Set(actual?.groups ?? []);
  for (const group of desired.groups) {
    if (!actualGroups.has(group)) steps.push({ action: 'add_group', group });
  }
  const isManagedGroup = (g: string) =>
    desired.managed.groups.includes(g) || desired.managed.groupPrefixes.some((p) => g.startsWith(p));
  for (const group of [...actualGroups].sort()) {
    if (!desired.groups.includes(group) && isManagedGroup(group)) steps.push({ action: 'remove_group', group });
  }

  const actualCourses = new Map((actual?.enrollments ?? []).map((e) => [e.courseId, e]));
  for (const want of desired.enrollments) {
    if (!actualCourses.has(want.courseId)) {
      steps.push({ action: 'enroll', courseId: want.courseId, dueDate: want.dueDate, requiredBy: want.requiredBy });
    }
  }
  const wanted = new Set(desired.enrollments.map((e) => e.courseId));
  for (const [courseId, have] of [...actualCourses].sort(([a], [b]) => a.localeCompare(b))) {
    const owned = desired.managed.courses.includes(courseId);
    // Training once completed (even if since expired) is a record to keep, never removed.
    const everCompleted = have.status === 'completed' || have.status === 'expired' || !!have.completedAt;
    if (!wanted.has(courseId) && owned && !everCompleted) {
      steps.push({ action: 'unenroll', courseId, status: have.status });
    }
  }
  return steps;
}
