import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Completion } from '../domain/learning';
import type { ActualLmsState, EnrollmentStatus, LearnerAccount } from '../domain/lms-state';
import { callVendor, type VendorResponse } from './http';
import { codeCatalog, notInLms, type Lms, type StepOutcome } from './lms';

// The LMS port's Absorb-style adapter (Absorb Integration API v2; simulators/absorb.ts). Like the
// Docebo adapter, every operation reads what the LMS holds first and answers "already-done" when
// there is nothing to do. What differs in Absorb and is handled here:
//   - auth is `POST /authenticate` (admin username, password, private key) → a token string, sent
//     as `Authorization: <token>` with `x-api-key` on every call; a second login for the same admin
//     (another worker, another tool) invalidates ours, so a 401 gets one fresh token;
//   - `PUT /users/{id}` REPLACES the user, so every change is read → merge → write of the whole user;
//   - a learner's branch is their one department (the department's externalId is the branch code);
//     a learner without a branch goes into the portal's root department;
//   - the role and the HRIS manager id have no user field of their own: they live in custom fields
//     (`customFields.string1`, `.string2`), since `supervisorId` must name an LMS user;
//   - `_offset` is a page number; `_filter` string comparisons ignore case, so matches are
//     re-checked exactly here;
//   - groups list their members (`userIds`, cut at 50,000 with a zero GUID), not the other way round;
//   - there are no webhooks: completions are polled by enrollment edit time (`modifiedSince`).

export interface AbsorbConfig {
  baseUrl: string;
  /** The admin whose role scopes what the API may see and change. */
  username: string;
  password: string;
  /** The portal's Integration API private key (`x-api-key`). */
  privateKey: string;
  /** Page size of listings (the API allows up to 1000). */
  pageSize?: number;
}

export type AbsorbUser = {
  id: string;
  departmentId: string;
  username: string;
  firstName: string;
  lastName: string;
  emailAddress: string | null;
  externalId: string | null;
  activeStatus: number;
  customFields: Record<string, unknown> | null;
  dateAdded: string;
};
export type AbsorbEnrollment = { courseId: string; userId: string; status: number; dateDue: string | null; dateCompleted: string | null; dateEnrolled?: string | null; dateEdited: string; score: number | null };
type AbsorbGroup = { id: string; name: string; isAutomatic: boolean; userIds: string[] };
export type AbsorbPage<T> = { totalItems: number; returnedItems: number; limit: number; offset: number } & Record<string, T[] | number>;

/** Where the role and the HRIS manager id are kept on an Absorb user. */
export const ROLE_FIELD = 'string1';
export const MANAGER_FIELD = 'string2';
const MORE_USER_IDS = '00000000-0000-0000-0000-000000000000';
/** An admin token lasts four hours; renew a little before. */
export const ABSORB_TOKEN_MS = 4 * 3600_000 - 5 * 60_000;

/** Absorb's course enrollment statuses (0 NotStarted … 12 ReadyForReview) in hrsync's terms. */
export const ABSORB_ENROLLMENT_STATUS: Record<number, EnrollmentStatus> = {
  0: 'enrolled', // NotStarted
  1: 'in_progress', // InProgress
  2: 'enrolled', // PendingApproval
  3: 'completed', // Complete
  4: 'in_progress', // NotComplete: attempted, requirement not met
  5: 'in_progress', // Failed: to be retaken
  6: 'enrolled', // Declined
  7: 'in_progress', // PendingEvaluationRequired
  8: 'enrolled', // OnWaitlist
  9: 'enrolled', // Absent
  10: 'enrolled', // NotApplicable
  11: 'in_progress', // PendingProctor
  12: 'in_progress', // ReadyForReview
};
export const COMPLETE = 3;

export const absorbActive = (u: Pick<AbsorbUser, 'activeStatus'>) => Number(u.activeStatus) === 0;
/** An OData string literal. */
export const odata = (value: string) => `'${value.replace(/'/g, "''")}'`;
/** The headers of every call but /authenticate. */
export const absorbHeaders = (config: Pick<AbsorbConfig, 'privateKey'>, token: string) => ({ authorization: token, 'x-api-key': config.privateKey, 'x-api-version': '2' });

/** Logs in: the token is the JSON string the API answers. */
export async function absorbLogin(config: AbsorbConfig): Promise<string> {
  const res = await callVendor<string>({
    system: 'LMS',
    method: 'POST',
    url: `${config.baseUrl.replace(/\/$/, '')}/authenticate`,
    headers: { 'x-api-key': config.privateKey, 'x-api-version': '2' },
    json: { username: config.username, password: config.password, privateKey: config.privateKey },
  });
  return String(res.body).replace(/^"|"$/g, '');
}

/** The `key` items of every page of an Absorb listing (`_offset` counts pages). */
async function absorbPages<T>(get: (path: string) => Promise<AbsorbPage<T>>, path: string, key: string, limit: number): Promise<T[]> {
  const items: T[] = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let offset = 0; ; offset++) {
    const page = await get(`${path}${sep}_limit=${limit}&_offset=${offset}`);
    const rows = (page[key] ?? []) as T[];
    items.push(...rows);
    if (rows.length < limit || (offset + 1) * limit >= page.totalItems) return items;
  }
}

const applied: StepOutcome = { outcome: 'applied' };
const alreadyDone: StepOutcome = { outcome: 'already-done' };

export function absorb(config: AbsorbConfig): Lms {
  const base = config.baseUrl.replace(/\/$/, '');
  const pageSize = Math.min(Math.max(config.pageSize ?? 1000, 1), 1000);
  let token: { value: Promise<string>; renewAt: number } | undefined;
  const userIds = new Map<string, string>();

  /** One login at a time for every call in flight: a second login would invalidate the first's token. */
  function accessToken(): Promise<string> {
    if (!token || token.renewAt <= Date.now()) {
      const value = absorbLogin(config);
      token = { value, renewAt: Date.now() + ABSORB_TOKEN_MS };
      value.catch(() => {
        if (token?.value === value) token = undefined;
      });
    }
    return token.value;
  }

  async function api<T>(method: string, path: string, json?: unknown, accept: number[] = []): Promise<VendorResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      const used = await accessToken();
      const res = await callVendor<T>({ system: 'LMS', method, url: `${base}${path}`, json, headers: absorbHeaders(config, used), accept: [401, ...accept] });
      if (res.status !== 401) return res;
      // Expired, or replaced by another login for the same admin: log in again (unless a call in
      // flight already did) and ask once more.
      if (attempt > 0) {
        // Retryable: another process logging in as the same admin can take the token in between.
        throw ApplicationFailure.create({ message: 'LMS rejected a fresh token (is another client logging in as the same admin?)', type: 'LmsUnauthorized' });
      }
      const current = token;
      if (current && (await current.value.catch(() => undefined)) === used && token === current) token = undefined;
    }
  }

  const get = async <T>(path: string) => (await api<T>('GET', path)).body;
  const all = <T>(path: string, key: string) => absorbPages<T>(get, path, key, pageSize);

  async function userId(employeeId: string): Promise<string | null> {
    const known = userIds.get(employeeId);
    if (known) return known;
    // The filter ignores case: keep exact matches only; the oldest account is the person.
    const found = (await all<AbsorbUser>(`/users?_filter=${encodeURIComponent(`externalId eq ${odata(employeeId)}`)}`, 'users'))
      .filter((u) => u.externalId === employeeId)
      .sort((a, b) => a.dateAdded.localeCompare(b.dateAdded) || a.id.localeCompare(b.id));
    const id = found[0]?.id ?? null;
    if (id) userIds.set(employeeId, id);
    return id;
  }

  async function requireUser(employeeId: string): Promise<string> {
    const id = await userId(employeeId);
    if (!id) throw notInLms(`A learner account for employee ${employeeId}`);
    return id;
  }

  /** Course id → our course code (null: a course hrsync does not know), as last read. */
  let courseCodes: Map<string, string | null> | undefined;
  async function loadCourses() {
    const courses = await all<{ id: string; externalId: string | null }>('/courses', 'courses');
    courseCodes = new Map(courses.map((c) => [c.id, c.externalId || null]));
    return courses;
  }
  const courseId = codeCatalog('Course', async () => new Map((await loadCourses()).filter((c) => c.externalId).map((c) => [c.externalId!, c.id])));
  /** The codes of these course ids, re-reading the catalog once if one is new to us. */
  async function codesOf(ids: string[]): Promise<Map<string, string | null>> {
    if (!courseCodes || ids.some((id) => !courseCodes!.has(id))) await loadCourses();
    return courseCodes!;
  }
  const departmentId = codeCatalog('Branch', async () => {
    const departments = await all<{ id: string; externalId: string | null }>('/departments', 'departments');
    return new Map(departments.filter((d) => d.externalId).map((d) => [d.externalId!, d.id]));
  });
  let rootDepartment: string | undefined;
  async function defaultDepartment(): Promise<string> {
    if (!rootDepartment) {
      const departments = await all<{ id: string; parentId: string | null }>('/departments', 'departments');
      const root = departments.find((d) => !d.parentId);
      if (!root) throw notInLms('A root department');
      rootDepartment = root.id;
    }
    return rootDepartment;
  }

  /** Every group with this exact name (names are not unique in Absorb). */
  const groupsNamed = async (name: string) =>
    (await all<AbsorbGroup>(`/groups?_filter=${encodeURIComponent(`name eq ${odata(name)}`)}`, 'groups')).filter((g) => g.name === name);
  /** Whether the group lists the user; `unknown` when its member list was cut off before the end. */
  const lists = (g: AbsorbGroup, id: string): boolean | 'unknown' => g.userIds.includes(id) || (g.userIds.includes(MORE_USER_IDS) ? 'unknown' : false);

  /** The user's current enrollment in the course, if any. */
  const enrollmentIn = async (id: string, cid: string) =>
    (await all<AbsorbEnrollment>(`/users/${id}/enrollments?_filter=${encodeURIComponent(`courseId eq guid'${cid}'`)}`, 'enrollments')).find((e) => e.courseId === cid);

  /** The whole user with `patch` applied, written back (PUT replaces) only if that changes it. */
  async function rewriteUser(employeeId: string, patch: Partial<AbsorbUser>): Promise<StepOutcome> {
    const id = await requireUser(employeeId);
    const user = await get<AbsorbUser & Record<string, unknown>>(`/users/${id}`);
    const next = { ...user, ...patch, customFields: { ...user.customFields, ...patch.customFields } };
    if (JSON.stringify(next) === JSON.stringify({ ...user, customFields: { ...user.customFields } })) return alreadyDone;
    await api('PUT', `/users/${id}`, next, []);
    return applied;
  }

  return {
    async findLearner(employeeId) {
      const id = await userId(employeeId);
      if (!id) return null;
      const [u, groups, enrollments] = await Promise.all([
        get<AbsorbUser>(`/users/${id}`),
        all<AbsorbGroup>('/groups', 'groups'),
        all<AbsorbEnrollment>(`/users/${id}/enrollments`, 'enrollments'),
      ]);
      const department = await get<{ externalId: string | null }>(`/departments/${u.departmentId}`);
      const codes = await codesOf(enrollments.map((e) => e.courseId));
      const courses = enrollments.map((e) => ({ e, code: codes.get(e.courseId) }));
      const state: ActualLmsState = {
        userId: id,
        active: absorbActive(u),
        account: {
          externalId: u.externalId ?? employeeId,
          username: u.username,
          firstName: u.firstName,
          lastName: u.lastName,
          email: u.emailAddress ?? '',
          role: (u.customFields?.[ROLE_FIELD] as string | null | undefined) ?? null,
          managerId: (u.customFields?.[MANAGER_FIELD] as string | null | undefined) ?? null,
        },
        branch: department.externalId ?? null,
        groups: [...new Set(groups.filter((g) => g.userIds.includes(id)).map((g) => g.name))].sort(),
        enrollments: courses
          .filter((c) => c.code)
          .map(({ e, code }) => ({
            courseId: code!,
            status: ABSORB_ENROLLMENT_STATUS[e.status] ?? 'enrolled',
            dueDate: e.dateDue ? e.dateDue.slice(0, 10) : null,
            completedAt: e.dateCompleted,
          }))
          .sort((a, b) => a.courseId.localeCompare(b.courseId)),
      };
      return state;
    },

    async createLearner(account, branch) {
      const existing = await userId(account.externalId);
      if (existing) return { outcome: 'already-done', lmsUserId: existing };
      const res = await api<AbsorbUser & { message?: string }>(
        'POST',
        '/users',
        {
          username: account.username,
          // Learners sign in through SSO; the account still needs a password of its own.
          password: randomBytes(18).toString('base64url'),
          firstName: account.firstName,
          lastName: account.lastName,
          emailAddress: account.email,
          externalId: account.externalId,
          departmentId: branch ? await departmentId(branch) : await defaultDepartment(),
          activeStatus: 0,
          customFields: { [ROLE_FIELD]: account.role, [MANAGER_FIELD]: account.managerId },
        },
        [400, 422],
      );
      if (res.status === 400 || res.status === 422) {
        throw ApplicationFailure.create({
          message: `LMS refused the account for employee ${account.externalId}: ${JSON.stringify(res.body).slice(0, 200)}`,
          type: 'LmsAccountConflict',
          nonRetryable: true,
        });
      }
      userIds.set(account.externalId, res.body.id);
      return { outcome: 'applied', lmsUserId: res.body.id };
    },

    async setLearnerActive(employeeId, active) {
      return rewriteUser(employeeId, { activeStatus: active ? 0 : 1 });
    },

    async updateLearner(employeeId, changes: Partial<LearnerAccount>) {
      const patch: Partial<AbsorbUser> = {};
      const custom: Record<string, unknown> = {};
      if (changes.username !== undefined) patch.username = changes.username;
      if (changes.email !== undefined) patch.emailAddress = changes.email;
      if (changes.firstName !== undefined) patch.firstName = changes.firstName;
      if (changes.lastName !== undefined) patch.lastName = changes.lastName;
      if (changes.role !== undefined) custom[ROLE_FIELD] = changes.role;
      if (changes.managerId !== undefined) custom[MANAGER_FIELD] = changes.managerId;
      return rewriteUser(employeeId, { ...patch, customFields: custom });
    },

    // A user has exactly one department, so `from` needs no separate removal.
    async moveLearnerToBranch(employeeId, _from, to) {
      const target = await departmentId(to);
      return rewriteUser(employeeId, { departmentId: target });
    },

    async addLearnerToGroup(employeeId, group) {
      const id = await requireUser(employeeId);
      const named = await groupsNamed(group);
      if (named.some((g) => lists(g, id) === true)) return alreadyDone;
      // The oldest manual group of that name; created when there is none.
      let target = named.find((g) => !g.isAutomatic);
      if (!target) target = (await api<AbsorbGroup>('POST', '/groups', { name: group, isAutomatic: false })).body;
      await api('POST', `/groups/${target.id}/users`, { userIds: [id] });
      return applied;
    },

    async removeLearnerFromGroup(employeeId, group) {
      const id = await requireUser(employeeId);
      const member = (await groupsNamed(group)).filter((g) => !g.isAutomatic && lists(g, id) !== false);
      let removed = false;
      for (const g of member) removed = (await api('DELETE', `/groups/${g.id}/users/${id}`, undefined, [404])).status !== 404 || removed;
      return removed ? applied : alreadyDone;
    },

    async enrollLearner(employeeId, code, dueDate) {
      const id = await requireUser(employeeId);
      const cid = await courseId(code);
      // Check first: enrolling again in a completed course would start a new enrollment over it.
      if (await enrollmentIn(id, cid)) return alreadyDone;
      await api('POST', `/users/${id}/enrollments`, { courseId: cid, dateDue: dueDate });
      return applied;
    },

    // Completed: enrolling again is Absorb's own re-enrollment (a new enrollment over the old one).
    // Not completed: it is running already, so only its due date moves.
    async reenrollLearner(employeeId, code, dueDate) {
      const id = await requireUser(employeeId);
      const cid = await courseId(code);
      const current = await enrollmentIn(id, cid);
      if (current && current.status !== COMPLETE) {
        if (current.dateDue?.slice(0, 10) === dueDate) return alreadyDone;
        await api('PUT', `/users/${id}/enrollments/${cid}`, { dateDue: dueDate });
        return applied;
      }
      await api('POST', `/users/${id}/enrollments`, { courseId: cid, dateDue: dueDate });
      return applied;
    },

    async employeeIdOf(lmsUserId) {
      const res = await api<AbsorbUser>('GET', `/users/${encodeURIComponent(lmsUserId)}`, undefined, [404]);
      return res.status === 404 ? null : (res.body.externalId ?? null);
    },

    async unenrollLearner(employeeId, code) {
      const id = await requireUser(employeeId);
      const res = await api('DELETE', `/users/${id}/enrollments/${await courseId(code)}`, undefined, [404]);
      return res.status === 404 ? alreadyDone : applied;
    },

    // Absorb's online courses have no instructors or authors (instructor-led sessions name
    // instructors, but nobody owns a course the way Docebo's instructor/author lists say), so there
    // is no course knowledge to hand over when someone leaves: always [].
    async coursesLedBy() {
      return [];
    },

    async listAccounts() {
      const users = await all<AbsorbUser>('/users', 'users');
      return users.filter((u) => u.externalId).map((u) => ({ externalId: u.externalId!, active: absorbActive(u) }));
    },

    // The watermark is the last enrollment EDIT time, not the completion time: Absorb filters by
    // edit, and so a completion entered later with an earlier date (an admin recording a paper
    // course) is still found. `modifiedSince` is exclusive, so ask from a millisecond before.
    async completionsSince(since) {
      const from = since ? `&modifiedSince=${encodeURIComponent(new Date(Date.parse(since) - 1).toISOString())}` : '';
      const [enrollments, users] = await Promise.all([
        all<AbsorbEnrollment>(`/enrollments?status=${COMPLETE}&_sort=dateEdited${from}`, 'enrollments'),
        all<AbsorbUser>('/users', 'users'),
      ]);
      const employeeOf = new Map(users.filter((u) => u.externalId).map((u) => [u.id, u.externalId!]));
      const codes = await codesOf(enrollments.map((e) => e.courseId));
      const completions: Completion[] = [];
      let watermark = since;
      for (const e of enrollments) {
        if (!watermark || Date.parse(e.dateEdited) > Date.parse(watermark)) watermark = new Date(e.dateEdited).toISOString();
        const employeeId = employeeOf.get(e.userId);
        const code = codes.get(e.courseId);
        if (!employeeId || !code || !e.dateCompleted) continue;
        completions.push({ employeeId, courseId: code, completedAt: new Date(e.dateCompleted).toISOString(), score: e.score ?? null });
      }
      return { completions, watermark };
    },
  };
}
