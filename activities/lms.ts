import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { stepAuditEntries, type AuditEntry } from '../domain/audit';
import type { Completion } from '../domain/learning';
import { ACCOUNT_STEPS, stepKey, type ActualLmsState, type EnrollmentStatus, type LearnerAccount, type PlanStep, type StepResult } from '../domain/lms-state';
import type { AuditStore } from './audit';
import { callVendor, type VendorResponse } from './http';

// The LMS port and its Docebo-style adapter. Every operation is idempotent: it checks what the
// LMS already holds, so a retried activity or a redelivered event never doubles an effect.

export type StepOutcome = { outcome: 'applied' | 'already-done'; lmsUserId?: string };

export interface Lms {
  findLearner(employeeId: string): Promise<ActualLmsState | null>;
  createLearner(account: LearnerAccount, branch: string | null): Promise<StepOutcome>;
  setLearnerActive(employeeId: string, active: boolean): Promise<StepOutcome>;
  updateLearner(employeeId: string, changes: Partial<LearnerAccount>): Promise<StepOutcome>;
  moveLearnerToBranch(employeeId: string, from: string | null, to: string): Promise<StepOutcome>;
  addLearnerToGroup(employeeId: string, group: string): Promise<StepOutcome>;
  removeLearnerFromGroup(employeeId: string, group: string): Promise<StepOutcome>;
  enrollLearner(employeeId: string, courseId: string, dueDate: string): Promise<StepOutcome>;
  unenrollLearner(employeeId: string, courseId: string): Promise<StepOutcome>;
  /**
   * Enrolls the person in a course they completed before, to renew a certificate: the
   * enrollment starts over with a new due date. Already re-enrolled with that due date: already-done.
   */
  reenrollLearner(employeeId: string, courseId: string, dueDate: string): Promise<StepOutcome>;
  /** The HRIS employee id of an LMS account (webhooks name the LMS's user id), or null. */
  employeeIdOf(lmsUserId: string): Promise<string | null>;
  /** Courses the person teaches or authored, for knowledge retention when they leave. */
  coursesLedBy(employeeId: string): Promise<CourseLed[]>;
  /** Every account's HRIS employee id and whether it is active, paged through. */
  listAccounts(): Promise<{ externalId: string; active: boolean }[]>;
  /**
   * Completions recorded at or after `since` (an ISO date-time; null: all), oldest first, paged
   * through, with the watermark to ask from next time. For LMSs without webhooks; a completion
   * may come back again at the watermark's instant, so callers deduplicate (completionKey).
   */
  completionsSince(since: string | null): Promise<{ completions: Completion[]; watermark: string | null }>;
}

export type CourseLed = { courseId: string; title: string; role: 'instructor' | 'author' };

export interface DoceboConfig {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
}

type Page<T> = { data: { items: T[]; has_more_data: boolean } };
type DoceboUser = { user_id: string; username: string; email: string; first_name: string; last_name: string; status: string; external_id: string | null; role: string | null; manager_id: string | null };
type DoceboEnrollment = { id_course: string; course_code: string | null; status: string; due_date: string | null; date_complete: string | null; score?: number | null; user_id?: string };

/** Docebo's enrollment statuses in hrsync's terms. */
export const ENROLLMENT_STATUS: Record<string, EnrollmentStatus> = {
  subscribed: 'enrolled',
  waiting: 'enrolled',
  overbooking: 'enrolled',
  in_progress: 'in_progress',
  completed: 'completed',
  expired: 'expired',
};

/** A course, branch or learner the LMS does not hold: retrying cannot help (every adapter fails the same way). */
export const notInLms = (what: string) =>
  ApplicationFailure.create({ message: `${what} does not exist in the LMS`, type: 'LmsCatalogMismatch', nonRetryable: true });

/** Code → LMS id for a catalog the LMS admins maintain (courses, branches); read once, re-read on a miss. */
export function codeCatalog(what: string, load: () => Promise<Map<string, string>>) {
  let known: Map<string, string> | undefined;
  return async (code: string): Promise<string> => {
    known ??= await load();
    if (!known.has(code)) known = await load();
    const id = known.get(code);
    if (!id) throw notInLms(`${what} ${code}`);
    return id;
  };
}

export function docebo(config: DoceboConfig): Lms {
  const base = config.baseUrl.replace(/\/$/, '');
  let token: { value: string; expiresAt: number } | undefined;
  const userIds = new Map<string, string>();
  const groups = new Map<string, string>();

  async function accessToken(): Promise<string> {
    if (token && token.expiresAt > Date.now() + 30_000) return token.value;
    const res = await callVendor<{ access_token: string; expires_in: number }>({
      system: 'LMS',
      method: 'POST',
      url: `${base}/oauth2/token`,
      form: { grant_type: 'client_credentials', client_id: config.clientId, client_secret: config.clientSecret, scope: 'api' },
    });
    token = { value: res.body.access_token, expiresAt: Date.now() + res.body.expires_in * 1000 };
    return token.value;
  }

  async function api<T>(method: string, path: string, json?: unknown, accept: number[] = []): Promise<VendorResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      const res = await callVendor<T>({
        system: 'LMS',
        method,
        url: `${base}${path}`,
        json,
        headers: { authorization: `Bearer ${await accessToken()}` },
        accept: [401, ...accept],
      });
      if (res.status !== 401) return res;
      token = undefined; // expired or revoked: get a fresh one and ask once more
      if (attempt > 0) throw ApplicationFailure.create({ message: 'LMS rejected a fresh access token', type: 'LmsUnauthorized', nonRetryable: true });
    }
  }

  async function all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    const sep = path.includes('?') ? '&' : '?';
    for (let page = 1; ; page++) {
      const res = await api<Page<T>>('GET', `${path}${sep}page=${page}&page_size=200`);
      items.push(...res.body.data.items);
      if (!res.body.data.has_more_data) return items;
    }
  }

  async function userId(employeeId: string): Promise<string | null> {
    const known = userIds.get(employeeId);
    if (known) return known;
    const found = await all<DoceboUser>(`/manage/v1/user?external_id=${encodeURIComponent(employeeId)}`);
    const user = found.sort((a, b) => Number(a.user_id) - Number(b.user_id))[0];
    if (!user) return null;
    userIds.set(employeeId, user.user_id);
    return user.user_id;
  }

  async function requireUser(employeeId: string): Promise<string> {
    const id = await userId(employeeId);
    if (!id) throw notInLms(`A learner account for employee ${employeeId}`);
    return id;
  }

  const catalog = (what: string, path: string, entry: (item: Record<string, unknown>) => [string, string]) =>
    codeCatalog(what, async () => new Map((await all<Record<string, unknown>>(path)).map(entry)));
  const courseId = catalog('Course', '/learn/v1/courses', (c) => [String(c.code), String(c.id_course)]);
  const branchId = catalog('Branch', '/manage/v1/orgchart', (b) => [String(b.code), String(b.id_org)]);

  async function groupId(name: string, create: boolean): Promise<string | null> {
    const known = groups.get(name);
    if (known) return known;
    const find = async () =>
      (await all<{ group_id: string; name: string }>(`/manage/v1/group?search_text=${encodeURIComponent(name)}`)).find((g) => g.name === name);
    let group = await find();
    if (!group && create) {
      const res = await api<{ data: { group_id: number } }>('POST', '/manage/v1/group', { name }, [400]);
      group = res.status === 400 ? await find() : { group_id: String(res.body.data.group_id), name };
    }
    if (!group) return null;
    groups.set(name, String(group.group_id));
    return String(group.group_id);
  }

  const applied: StepOutcome = { outcome: 'applied' };
  const alreadyDone: StepOutcome = { outcome: 'already-done' };

  return {
    async findLearner(employeeId) {
      const id = await userId(employeeId);
      if (!id) return null;
      const detail = await api<{ data: { user_data: DoceboUser; branches: { code: string }[]; groups: { name: string }[] } }>(
        'GET',
        `/manage/v1/user/${id}`,
      );
      const { user_data: u, branches: userBranches, groups: userGroups } = detail.body.data;
      const enrollments = await all<DoceboEnrollment>(`/learn/v1/enrollments?user_id=${id}`);
      return {
        userId: id,
        active: String(u.status) === '1',
        account: {
          externalId: u.external_id ?? employeeId,
          username: u.username,
          firstName: u.first_name,
          lastName: u.last_name,
          email: u.email,
          role: u.role,
          managerId: u.manager_id,
        },
        branch: userBranches[0]?.code ?? null,
        groups: userGroups.map((g) => g.name).sort(),
        enrollments: enrollments
          .filter((e) => e.course_code)
          .map((e) => ({
            courseId: e.course_code!,
            status: ENROLLMENT_STATUS[e.status] ?? 'enrolled',
            dueDate: e.due_date,
            completedAt: e.date_complete,
          }))
          .sort((a, b) => a.courseId.localeCompare(b.courseId)),
      };
    },

    async createLearner(account, branch) {
      const existing = await userId(account.externalId);
      if (existing) return { outcome: 'already-done', lmsUserId: existing };
      const res = await api<{ data: { user_id: number }; message?: string[] }>(
        'POST',
        '/manage/v1/user',
        {
          userid: account.username,
          email: account.email,
          firstname: account.firstName,
          lastname: account.lastName,
          external_id: account.externalId,
          role: account.role,
          manager_id: account.managerId,
          ...(branch ? { branch_id: Number(await branchId(branch)) } : {}),
        },
        [400],
      );
      if (res.status === 400) {
        throw ApplicationFailure.create({
          message: `LMS refused the account for employee ${account.externalId}: ${JSON.stringify(res.body).slice(0, 200)}`,
          type: 'LmsAccountConflict',
          nonRetryable: true,
        });
      }
      const id = String(res.body.data.user_id);
      userIds.set(account.externalId, id);
      return { outcome: 'applied', lmsUserId: id };
    },

    async setLearnerActive(employeeId, active) {
      const id = await requireUser(employeeId);
      await api('PUT', '/manage/v1/user/change_status', { user_ids: [Number(id)], status: active ? 1 : 0 });
      return applied;
    },

    async updateLearner(employeeId, changes) {
      const id = await requireUser(employeeId);
      const body: Record<string, unknown> = {};
      if (changes.username !== undefined) body.userid = changes.username;
      if (changes.email !== undefined) body.email = changes.email;
      if (changes.firstName !== undefined) body.firstname = changes.firstName;
      if (changes.lastName !== undefined) body.lastname = changes.lastName;
      if (changes.role !== undefined) body.role = changes.role;
      if (changes.managerId !== undefined) body.manager_id = changes.managerId;
      await api('PUT', `/manage/v1/user/${id}`, body);
      return applied;
    },

    async moveLearnerToBranch(employeeId, from, to) {
      const id = await requireUser(employeeId);
      await api('POST', `/manage/v1/orgchart/${await branchId(to)}/users`, { user_ids: [Number(id)] });
      if (from && from !== to) await api('DELETE', `/manage/v1/orgchart/${await branchId(from)}/users`, { user_ids: [Number(id)] }, [404]);
      return applied;
    },

    async addLearnerToGroup(employeeId, group) {
      const id = await requireUser(employeeId);
      await api('POST', `/manage/v1/group/${await groupId(group, true)}/members`, { user_ids: [Number(id)] });
      return applied;
    },

    async removeLearnerFromGroup(employeeId, group) {
      const id = await requireUser(employeeId);
      const gid = await groupId(group, false);
      if (!gid) return alreadyDone;
      await api('DELETE', `/manage/v1/group/${gid}/members`, { user_ids: [Number(id)] });
      return applied;
    },

    async enrollLearner(employeeId, code, dueDate) {
      const id = await requireUser(employeeId);
      const res = await api<{ data: { enrolled: unknown[]; errors: { message: string }[] } }>('POST', '/learn/v1/enrollments', {
        course_ids: [Number(await courseId(code))],
        user_ids: [Number(id)],
        level: 'student',
        due_date: dueDate,
      });
      if (res.body.data.enrolled.length) return applied;
      const message = res.body.data.errors[0]?.message ?? 'no enrollment made';
      if (/already enrolled/i.test(message)) return alreadyDone;
      throw ApplicationFailure.create({ message: `LMS refused enrollment in ${code}: ${message}`, type: 'LmsEnrollmentRefused', nonRetryable: true });
    },

    async listAccounts() {
      const users = await all<DoceboUser>('/manage/v1/user');
      return users.filter((u) => u.external_id).map((u) => ({ externalId: u.external_id!, active: String(u.status) === '1' }));
    },

    async completionsSince(since) {
      const query = `status=completed&sort_attr=date_complete&sort_dir=asc${since ? `&completion_date_from=${encodeURIComponent(since)}` : ''}`;
      const [enrollments, users] = await Promise.all([all<DoceboEnrollment>(`/learn/v1/enrollments?${query}`), all<DoceboUser>('/manage/v1/user')]);
      const employeeOf = new Map(users.filter((u) => u.external_id).map((u) => [String(u.user_id), u.external_id!]));
      const completions: Completion[] = [];
      for (const e of enrollments) {
        const employeeId = employeeOf.get(String(e.user_id));
        if (!employeeId || !e.course_code || !e.date_complete) continue;
        completions.push({ employeeId, courseId: e.course_code, completedAt: new Date(e.date_complete).toISOString(), score: e.score ?? null });
      }
      return { completions, watermark: completions.at(-1)?.completedAt ?? since };
    },

    async coursesLedBy(employeeId) {
      const id = await userId(employeeId);
      if (!id) return [];
      type Course = { code: string; name: string };
      const [teaching, authored] = await Promise.all([
        all<Course>(`/learn/v1/courses?instructor_id=${id}`),
        all<Course>(`/learn/v1/courses?author_id=${id}`),
      ]);
      return [
        ...teaching.map((c) => ({ courseId: c.code, title: c.name, role: 'instructor' as const })),
        ...authored.map((c) => ({ courseId: c.code, title: c.name, role: 'author' as const })),
      ];
    },

    async reenrollLearner(employeeId, code, dueDate) {
      const id = await requireUser(employeeId);
      const course = await courseId(code);
      const current = (await all<DoceboEnrollment>(`/learn/v1/enrollments?user_id=${id}&course_id=${course}`))[0];
      if (!current) return this.enrollLearner(employeeId, code, dueDate);
      if (current.status !== 'completed' && current.status !== 'expired' && current.due_date === dueDate) return alreadyDone;
      await api('PUT', `/learn/v1/enrollments/${course}/${id}`, { status: 'subscribed', due_date: dueDate, reset_tracking: true });
      return applied;
    },

    async employeeIdOf(lmsUserId) {
      const res = await api<{ data: { user_data: DoceboUser } }>('GET', `/manage/v1/user/${encodeURIComponent(lmsUserId)}`, undefined, [404]);
      return res.status === 404 ? null : (res.body.data.user_data.external_id ?? null);
    },

    async unenrollLearner(employeeId, code) {
      const id = await requireUser(employeeId);
      const res = await api('DELETE', `/learn/v1/enrollments/${await courseId(code)}/${id}`, undefined, [404]);
      return res.status === 404 ? alreadyDone : applied;
    },
  };
}

/** Applies one plan step; safe to repeat. */
export function applyStep(lms: Lms, employeeId: string, step: PlanStep): Promise<StepOutcome> {
  switch (step.action) {
    case 'create_user':
      return lms.createLearner(step.account, step.branch);
    case 'activate_user':
      return lms.setLearnerActive(employeeId, true);
    case 'deactivate_user':
      return lms.setLearnerActive(employeeId, false);
    case 'update_user':
      return lms.updateLearner(employeeId, step.changes);
    case 'set_branch':
      return lms.moveLearnerToBranch(employeeId, step.from, step.to);
    case 'add_group':
      return lms.addLearnerToGroup(employeeId, step.group);
    case 'remove_group':
      return lms.removeLearnerFromGroup(employeeId, step.group);
    case 'enroll':
      return lms.enrollLearner(employeeId, step.courseId, step.dueDate);
    case 'unenroll':
      return lms.unenrollLearner(employeeId, step.courseId);
  }
}

/** How often a plan being applied tells Temporal it is alive, how far it got, and asks whether it was cancelled. */
const PLAN_HEARTBEAT_MS = 1_000;

export interface PlanToApply {
  employeeId: string;
  eventId: string | null;
  /** Names this application within the workflow run (a plan applied after an approval is another phase). */
  phase: string;
  steps: PlanStep[];
  /** Audit rows of the decisions behind the plan, recorded before its steps. */
  record: AuditEntry[];
}

/**
 * Applies a whole plan in one activity: the account steps first, one at a time (a failure stops
 * the plan), then the rest together. Each step's outcome goes into the audit trail from here, so
 * a cancelled or retried application still shows what it did. A step the LMS refuses for good is
 * a failed result; one worth retrying (429, 5xx, no answer) fails the attempt, and the retry skips
 * what the earlier attempt finished. Once cancelled (a termination superseding an onboarding),
 * no further step starts.
 */
async function applyPlan(lms: Lms, store: AuditStore, plan: PlanToApply): Promise<StepResult[]> {
  const ctx = Context.current();
  // Plans are applied only by workflows, whose run names the audit rows.
  const { workflowId, runId } = ctx.info.workflowExecution!;
  const base = { employeeId: plan.employeeId, eventId: plan.eventId, workflowId, runId };
  const earlier = (ctx.info.heartbeatDetails as { results?: StepResult[] } | undefined)?.results ?? [];
  const results = new Map(earlier.map((r) => [r.key, r]));
  const progress = () => ({ results: [...results.values()] });
  let retryLater: unknown;
  const apply = async (step: PlanStep): Promise<StepResult | undefined> => {
    const key = stepKey(step);
    if (results.has(key)) return results.get(key);
    if (ctx.cancellationSignal.aborted || retryLater) return undefined;
    let result: StepResult;
    try {
      const { outcome } = await applyStep(lms, plan.employeeId, step);
      result = { key, action: step.action, outcome };
    } catch (err) {
      if (!(err instanceof ApplicationFailure && err.nonRetryable)) {
        retryLater ??= err;
        return undefined;
      }
      result = { key, action: step.action, outcome: 'failed', error: err.message };
    }
    results.set(key, result);
    return result;
  };
  const heartbeat = setInterval(() => ctx.heartbeat(progress()), PLAN_HEARTBEAT_MS);
  try {
    if (plan.record.length) await store.record(plan.record);
    let accountReady = true;
    for (const step of plan.steps.filter((s) => ACCOUNT_STEPS.has(s.action))) {
      const result = await apply(step);
      if (!result || result.outcome === 'failed') {
        accountReady = false;
        break;
      }
    }
    if (accountReady) await Promise.all(plan.steps.filter((s) => !ACCOUNT_STEPS.has(s.action)).map(apply));
  } finally {
    clearInterval(heartbeat);
    ctx.heartbeat(progress());
    await store.record(stepAuditEntries(base, `${workflowId}:${runId}:${plan.phase}`, plan.steps, [...results.values()]));
  }
  if (ctx.cancellationSignal.aborted) throw new CancelledFailure('cancelled while applying the plan');
  if (retryLater) throw retryLater;
  return plan.steps.flatMap((s) => results.get(stepKey(s)) ?? []);
}

/** Applying plans: the LMS, and the audit trail that records each step. */
export function planActivities(lms: Lms, store: AuditStore) {
  return {
    applyPlan: (plan: PlanToApply) => applyPlan(lms, store, plan),
  };
}

export function lmsActivities(lms: Lms) {
  return {
    async readLearner(employeeId: string): Promise<ActualLmsState | null> {
      return lms.findLearner(employeeId);
    },
    async applyPlanStep(input: { employeeId: string; step: PlanStep }): Promise<StepOutcome> {
      return applyStep(lms, input.employeeId, input.step);
    },
    async readCoursesLed(employeeId: string): Promise<CourseLed[]> {
      return lms.coursesLedBy(employeeId);
    },
  };
}
