import { ApplicationFailure } from '@temporalio/common';
import type { RosterEnrollment, RosterLearner } from '../domain/compliance';
import { ABSORB_ENROLLMENT_STATUS, ABSORB_TOKEN_MS, absorbActive, absorbHeaders, absorbLogin, ROLE_FIELD, type AbsorbConfig, type AbsorbEnrollment, type AbsorbPage, type AbsorbUser } from './absorb';
import { callVendor } from './http';
import { ENROLLMENT_STATUS, type DoceboConfig } from './lms';

// Every learner of the LMS with their branch, role and enrollments, read in bulk for the
// compliance report: the Docebo-style API of the `docebo` adapter (activities/lms.ts), PAGED,
// with a bounded number of requests in flight. At 10,000 learners that is:
//   GET /manage/v1/user               paged (200 a page; pages after the first fetched concurrently)
//   GET /learn/v1/enrollments         paged, every enrollment at once (no per-learner listing)
//   GET /manage/v1/user/{id}          one per active learner, for the branch (the user listing
//                                     does not carry it), `concurrency` at a time
// Outside a workflow nothing retries for us: 429s wait for Retry-After, 5xx and network errors
// back off (1 s doubling to 10 s), a few times, then the read fails with the vendor's answer.
// (For the LMS port this would be `listLearners(): Promise<RosterLearner[]>`.)
// `absorbRoster` reads an Absorb-style LMS (activities/absorb.ts) the same way; there the user
// listing carries the department, so it needs no per-learner request at all.

export interface RosterReadOptions {
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Page size of the listings (the API's maximum is 200). */
  pageSize?: number;
  /** Attempts per request before giving up (default 8). */
  attempts?: number;
  /** Called as the learner details come in: (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface LmsRosterReader {
  /** Every active learner with an HRIS employee id, with branch, role and enrollments. */
  listLearners(): Promise<RosterLearner[]>;
  /** How many HTTP requests the reads made, for the curious (and the scale test). */
  readonly requests: number;
}

type Page<T> = { data: { items: T[]; has_more_data: boolean; total_page_count?: number } };
type DoceboUser = { user_id: string; first_name: string; last_name: string; status: string; external_id: string | null; role: string | null; creation_date?: string | null };
type DoceboEnrollment = { user_id: string; course_code: string | null; status: string; due_date: string | null; date_complete: string | null; enroll_date?: string | null };

/** Runs at most `n` of the given tasks at a time. */
export function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Token = { value: string; expiresAt: number };

/**
 * GETs for a bulk read: at most `concurrency` in flight, one token shared by all of them (fetched
 * once, renewed once when it lapses or is refused), 429s and 5xx retried as the header above says.
 */
function rosterSession(base: string, options: RosterReadOptions, auth: { login(): Promise<Token>; headers(token: string): Record<string, string> }) {
  const attempts = options.attempts ?? 8;
  const run = limiter(Math.max(options.concurrency ?? 16, 1));
  let requests = 0;
  let token: Promise<Token> | undefined;

  // One token request at a time, shared by every reader in flight.
  function fetchToken(): Promise<Token> {
    const pending = (async () => {
      requests++;
      return auth.login();
    })();
    pending.catch(() => {
      if (token === pending) token = undefined;
    });
    return pending;
  }

  async function accessToken(): Promise<string> {
    const current = (token ??= fetchToken());
    const t = await current;
    if (t.expiresAt > Date.now() + 30_000) return t.value;
    if (token === current) token = fetchToken();
    return (await token!).value;
  }

  async function get<T>(path: string): Promise<T> {
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const used = await accessToken();
        requests++;
        const res = await callVendor<T>({ system: 'LMS', url: `${base}${path}`, headers: auth.headers(used), accept: [401] });
        if (res.status !== 401) return res.body;
        if (refreshed) throw new Error(`LMS rejected a fresh access token (GET ${path})`);
        refreshed = true;
        const current = token;
        if (current && (await current.catch(() => undefined))?.value === used && token === current) token = undefined; // expired or revoked
        attempt--;
      } catch (err) {
        const failure = err instanceof ApplicationFailure ? err : undefined;
        if (!failure || failure.nonRetryable || attempt >= attempts) throw new Error((err as Error).message);
        const hinted = failure.nextRetryDelay;
        await sleep(typeof hinted === 'number' ? hinted : Math.min(1000 * 2 ** (attempt - 1), 10_000));
      }
    }
  }

  return {
    run,
    get,
    get requests() {
      return requests;
    },
  };
}

export function doceboRoster(config: DoceboConfig, options: RosterReadOptions = {}): LmsRosterReader {
  const base = config.baseUrl.replace(/\/$/, '');
  const pageSize = Math.min(Math.max(options.pageSize ?? 200, 1), 200);
  const session = rosterSession(base, options, {
    async login() {
      const res = await callVendor<{ access_token: string; expires_in: number }>({
        system: 'LMS',
        method: 'POST',
        url: `${base}/oauth2/token`,
        form: { grant_type: 'client_credentials', client_id: config.clientId, client_secret: config.clientSecret, scope: 'api' },
      });
      return { value: res.body.access_token, expiresAt: Date.now() + res.body.expires_in * 1000 };
    },
    headers: (token) => ({ authorization: `Bearer ${token}` }),
  });
  const { run, get } = session;

  /** Every item of a paged listing: the first page says how many there are; the rest come concurrently. */
  async function all<T>(path: string): Promise<T[]> {
    const sep = path.includes('?') ? '&' : '?';
    const at = (page: number) => run(() => get<Page<T>>(`${path}${sep}page=${page}&page_size=${pageSize}`));
    const first = await at(1);
    const total = first.data.total_page_count;
    if (typeof total === 'number' && Number.isFinite(total)) {
      const rest = await Promise.all(Array.from({ length: Math.max(total - 1, 0) }, (_, i) => at(i + 2)));
      return [first, ...rest].flatMap((p) => p.data.items);
    }
    // A listing that does not say its size: page by page until it says there is no more.
    const items = [...first.data.items];
    for (let page = 2, more = first.data.has_more_data; more; page++) {
      const next = await at(page);
      items.push(...next.data.items);
      more = next.data.has_more_data;
    }
    return items;
  }

  return {
    get requests() {
      return session.requests;
    },
    async listLearners() {
      const [users, enrollments] = await Promise.all([all<DoceboUser>('/manage/v1/user'), all<DoceboEnrollment>('/learn/v1/enrollments')]);
      // A person is their oldest account (as the adapter resolves an external id); a second
      // account made by mistake is not a second person.
      const byEmployee = new Map<string, DoceboUser>();
      for (const u of users) {
        if (!u.external_id) continue;
        const seen = byEmployee.get(u.external_id);
        if (!seen || Number(u.user_id) < Number(seen.user_id)) byEmployee.set(u.external_id, u);
      }
      const active = [...byEmployee.values()].filter((u) => String(u.status) === '1');
      const wanted = new Set(active.map((u) => String(u.user_id)));
      const enrollmentsOf = new Map<string, RosterEnrollment[]>();
      for (const e of enrollments) {
        const userId = String(e.user_id);
        if (!wanted.has(userId) || !e.course_code) continue;
        const list = enrollmentsOf.get(userId) ?? [];
        list.push({ courseId: e.course_code, status: ENROLLMENT_STATUS[e.status] ?? 'enrolled', dueDate: e.due_date ? e.due_date.slice(0, 10) : null, completedAt: e.date_complete, enrolledAt: e.enroll_date ?? null });
        enrollmentsOf.set(userId, list);
      }
      let done = 0;
      return Promise.all(
        active.map((u) =>
          run(async () => {
            const detail = await get<{ data: { branches: { code: string }[] } }>(`/manage/v1/user/${encodeURIComponent(u.user_id)}`);
            options.onProgress?.(++done, active.length);
            return {
              employeeId: u.external_id!,
              lmsUserId: String(u.user_id),
              name: `${u.first_name} ${u.last_name}`.trim(),
              active: true,
              branch: detail.data.branches[0]?.code ?? null,
              role: u.role,
              createdAt: u.creation_date ?? null,
              enrollments: (enrollmentsOf.get(String(u.user_id)) ?? []).sort((a, b) => a.courseId.localeCompare(b.courseId)),
            } satisfies RosterLearner;
          }),
        ),
      );
    },
  };
}

export function absorbRoster(config: AbsorbConfig, options: RosterReadOptions = {}): LmsRosterReader {
  const base = config.baseUrl.replace(/\/$/, '');
  const limit = Math.min(Math.max(options.pageSize ?? 1000, 1), 1000);
  const session = rosterSession(base, options, {
    login: async () => ({ value: await absorbLogin(config), expiresAt: Date.now() + ABSORB_TOKEN_MS }),
    headers: (token) => absorbHeaders(config, token),
  });
  const { run, get } = session;

  /** Every item of a listing: page 0 says how many there are; the other pages come concurrently (`_offset` is a page number). */
  async function all<T>(path: string, key: string): Promise<T[]> {
    const sep = path.includes('?') ? '&' : '?';
    const at = (offset: number) => run(() => get<AbsorbPage<T>>(`${path}${sep}_limit=${limit}&_offset=${offset}`));
    const first = await at(0);
    const pages = Math.ceil(first.totalItems / limit);
    const rest = await Promise.all(Array.from({ length: Math.max(pages - 1, 0) }, (_, i) => at(i + 1)));
    return [first, ...rest].flatMap((p) => (p[key] ?? []) as T[]);
  }

  return {
    get requests() {
      return session.requests;
    },
    async listLearners() {
      type Department = { id: string; externalId: string | null };
      type Course = { id: string; externalId: string | null };
      const [users, departments, courses, enrollments] = await Promise.all([
        all<AbsorbUser>('/users', 'users'),
        all<Department>('/departments', 'departments'),
        all<Course>('/courses', 'courses'),
        all<AbsorbEnrollment>('/enrollments', 'enrollments'),
      ]);
      // A person is their oldest account, as the adapter resolves an external id.
      const byEmployee = new Map<string, AbsorbUser>();
      for (const u of users) {
        if (!u.externalId) continue;
        const seen = byEmployee.get(u.externalId);
        if (!seen || u.dateAdded < seen.dateAdded) byEmployee.set(u.externalId, u);
      }
      const active = [...byEmployee.values()].filter(absorbActive);
      const branchOf = new Map(departments.map((d) => [d.id, d.externalId]));
      const codeOf = new Map(courses.map((c) => [c.id, c.externalId]));
      const enrollmentsOf = new Map<string, RosterEnrollment[]>();
      for (const e of enrollments) {
        const code = codeOf.get(e.courseId);
        if (!code) continue;
        const list = enrollmentsOf.get(e.userId) ?? [];
        list.push({ courseId: code, status: ABSORB_ENROLLMENT_STATUS[e.status] ?? 'enrolled', dueDate: e.dateDue ? e.dateDue.slice(0, 10) : null, completedAt: e.dateCompleted, enrolledAt: e.dateEnrolled ?? null });
        enrollmentsOf.set(e.userId, list);
      }
      return active.map((u, i) => {
        options.onProgress?.(i + 1, active.length);
        return {
          employeeId: u.externalId!,
          lmsUserId: u.id,
          name: `${u.firstName} ${u.lastName}`.trim(),
          active: true,
          branch: branchOf.get(u.departmentId) ?? null,
          role: (u.customFields?.[ROLE_FIELD] as string | null | undefined) ?? null,
          createdAt: u.dateAdded ?? null,
          enrollments: (enrollmentsOf.get(u.id) ?? []).sort((a, b) => a.courseId.localeCompare(b.courseId)),
        } satisfies RosterLearner;
      });
    },
  };
}
