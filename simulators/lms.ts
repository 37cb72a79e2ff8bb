import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { webhookSender } from './webhook-sender';
import { createApp, serve, type RunningServer } from './http';
import { vendorConditions, type Fault } from './vendor-conditions';

// A Docebo-style LMS: OAuth2 client credentials, /manage/v1 users, branches and groups,
// /learn/v1 courses and enrollments. It keeps the vendor's rough edges on purpose: ids come back
// as strings in listings, lists are paged, creating a user twice makes two accounts unless the
// username collides, calls beyond the rate limit get 429 + Retry-After, and faults can be injected.

export interface LmsSimulatorOptions {
  port?: number;
  clientId?: string;
  clientSecret?: string;
  tokenTtlSeconds?: number;
  /** Requests per second across all clients; 0 turns the limit off. */
  rateLimitPerSecond?: number;
  /** Added to every API call, to make work take long enough to interrupt. */
  latencyMs?: number;
  courses?: { code: string; title: string }[];
  branches?: { code: string; name: string }[];
  /** Where completions are announced: a Docebo-style `course.enrollment.completed` webhook, signed with the secret. */
  webhook?: LmsWebhook;
}

export interface LmsWebhook {
  url: string;
  secret: string;
}

/** X-Docebo-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>. */
export function signDoceboWebhook(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export { Fault } from './vendor-conditions';

interface User {
  user_id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  status: 0 | 1;
  level: string;
  external_id: string | null;
  role: string | null;
  manager_id: string | null;
  branches: Set<number>;
  groups: Set<number>;
  creation_date: string;
}

interface Enrollment {
  id_user: number;
  id_course: number;
  status: 'subscribed' | 'in_progress' | 'completed' | 'expired';
  enroll_date: string;
  due_date: string | null;
  date_complete: string | null;
  score: number | null;
}

const DEFAULT_COURSES = [{ code: 'DEMO-101', title: 'Demo course' }];

export interface LmsSimulator extends RunningServer {
  /** Everything the LMS holds, as `GET /sim/state` returns it. */
  snapshot(): ReturnType<LmsStore['snapshot']>;
  injectFault(fault: Fault): void;
  /** Changes the LMS behind hrsync's back, as an admin clicking around would (drift, for tests). */
  tamper(externalId: string, change: { status?: 0 | 1; removeGroup?: string; removeCourse?: string; branch?: string | null }): void;
  /** Creates accounts directly (another tool, a migration): for orphans and for scale tests. */
  importLearners(learners: { externalId: string; username: string; firstName?: string; lastName?: string; role?: string | null; branch?: string | null; groups?: string[]; courses?: { code: string; dueDate?: string | null; status?: Enrollment['status'] }[]; status?: 0 | 1 }[]): void;
  setLatency(ms: number): void;
  clearFaults(): void;
  setRateLimit(perSecond: number): void;
  setWebhook(webhook: LmsWebhook | undefined): void;
  /** When the account of this employee, or one of its enrollments, was last created (epoch ms). */
  lastWriteAt(externalId: string): number | undefined;
  /** Every completion webhook sent so far, with the last answer; `idle()` waits for those still retrying. */
  webhookDeliveries(): { messageId: string; attempts: number; status: number | null }[];
  idle(): Promise<void>;
  stats: { requests: number; byStatus: Record<string, number>; usersCreated: number };
}

class LmsStore {
  users = new Map<number, User>();
  branches = new Map<number, { id_org: number; code: string; title: string }>();
  groups = new Map<number, { group_id: number; name: string; description: string }>();
  courses = new Map<number, { id_course: number; code: string; name: string; instructors: Set<number>; authors: Set<number> }>();
  enrollments = new Map<string, Enrollment>();
  private nextId = 10_000;

  id(): number {
    return ++this.nextId;
  }

  seed(courses: { code: string; title: string }[], branches: { code: string; name: string }[]) {
    for (const c of courses) {
      const id = this.id();
      this.courses.set(id, { id_course: id, code: c.code, name: c.title, instructors: new Set(), authors: new Set() });
    }
    for (const b of branches) {
      const id = this.id();
      this.branches.set(id, { id_org: id, code: b.code, title: b.name });
    }
  }

  userJson(u: User) {
    return {
      user_id: String(u.user_id),
      username: u.username,
      email: u.email,
      first_name: u.first_name,
      last_name: u.last_name,
      status: String(u.status),
      level: u.level,
      external_id: u.external_id,
      role: u.role,
      manager_id: u.manager_id,
      creation_date: u.creation_date,
    };
  }

  enrollmentJson(e: Enrollment) {
    const course = this.courses.get(e.id_course);
    return {
      user_id: String(e.id_user),
      id_course: String(e.id_course),
      course_code: course?.code ?? null,
      course_name: course?.name ?? null,
      status: e.status,
      enroll_date: e.enroll_date,
      due_date: e.due_date,
      date_complete: e.date_complete,
      score: e.score,
    };
  }

  snapshot() {
    return {
      users: [...this.users.values()].map((u) => ({
        ...this.userJson(u),
        branches: [...u.branches].map((b) => this.branches.get(b)?.code),
        groups: [...u.groups].map((g) => this.groups.get(g)?.name),
        enrollments: [...this.enrollments.values()].filter((e) => e.id_user === u.user_id).map((e) => this.enrollmentJson(e)),
      })),
      branches: [...this.branches.values()],
      groups: [...this.groups.values()],
      courses: [...this.courses.values()].map((c) => this.courseJson(c)),
    };
  }

  courseJson(c: { id_course: number; code: string; name: string; instructors: Set<number>; authors: Set<number> }) {
    return { id_course: String(c.id_course), code: c.code, name: c.name, instructors: [...c.instructors].map(String), authors: [...c.authors].map(String) };
  }
}

function page<T>(items: T[], query: Record<string, string | undefined>) {
  const size = Math.min(Math.max(Number(query.page_size) || 20, 1), 200);
  const current = Math.max(Number(query.page) || 1, 1);
  const slice = items.slice((current - 1) * size, current * size);
  const totalPages = Math.max(Math.ceil(items.length / size), 1);
  return {
    data: {
      items: slice,
      count: slice.length,
      has_more_data: current < totalPages,
      current_page: current,
      current_page_size: size,
      total_page_count: totalPages,
      total_count: items.length,
    },
  };
}

const ids = (value: unknown): number[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => Number(v)).filter((n) => Number.isFinite(n));

export async function startLmsSimulator(options: LmsSimulatorOptions = {}): Promise<LmsSimulator> {
  const clientId = options.clientId ?? 'hrsync';
  const clientSecret = options.clientSecret ?? 'hrsync-dev-secret';
  const ttl = options.tokenTtlSeconds ?? 3600;
  let latencyMs = options.latencyMs ?? 0;
  const conditions = vendorConditions(options.rateLimitPerSecond);
  const issued = new Map<string, number>();
  /** When each user's account or enrollments were last written (for latency measurements). */
  const writtenAt = new Map<number, number>();
  let webhook = options.webhook;
  const webhooks = webhookSender<{ messageId: string; attempts: number; status: number | null }>();
  const announce = (payload: Record<string, unknown>) => {
    if (!webhook) return;
    const { url, secret } = webhook;
    const messageId = `wh-${randomUUID()}`;
    const firedAt = new Date().toISOString();
    const body = JSON.stringify({ event: 'course.enrollment.completed', message_id: messageId, fired_at: firedAt, payload: { ...payload, fired_at: firedAt } });
    webhooks.send({ messageId, attempts: 0, status: null }, url, body, () => ({ 'x-docebo-signature': signDoceboWebhook(secret, body) }));
  };
  const store = new LmsStore();
  store.seed(options.courses ?? DEFAULT_COURSES, options.branches ?? []);
  const stats = { requests: 0, byStatus: {} as Record<string, number>, usersCreated: 0 };

  const app = createApp();
  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith('/sim')) return;
    stats.byStatus[reply.statusCode] = (stats.byStatus[reply.statusCode] ?? 0) + 1;
  });

  const isApi = (url: string) => url.startsWith('/manage/') || url.startsWith('/learn/');

  app.addHook('onRequest', async (req, reply) => {
    if (!isApi(req.url)) return;
    stats.requests++;
    if (latencyMs) await new Promise((r) => setTimeout(r, latencyMs));
    const fault = conditions.drawFault(req.method, req.url);
    if (fault) {
      if (fault.retryAfterSeconds !== undefined) reply.header('Retry-After', String(fault.retryAfterSeconds));
      return reply.code(fault.status).send({ name: 'Injected fault', message: `simulated ${fault.status}` });
    }
    const wait = conditions.throttle();
    if (wait) return reply.code(429).header('Retry-After', String(wait)).send({ name: 'Too Many Requests', message: 'rate limit exceeded' });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expires = token ? issued.get(token) : undefined;
    if (!expires || expires < Date.now()) {
      return reply.code(401).send({ name: 'Unauthorized', message: 'Invalid or expired token', code: 401 });
    }
  });

  app.post('/oauth2/token', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    if (body.grant_type !== 'client_credentials') {
      return reply.code(400).send({ error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    }
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return reply.code(401).send({ error: 'invalid_client', error_description: 'The client credentials are invalid' });
    }
    const token = randomBytes(20).toString('hex');
    issued.set(token, Date.now() + ttl * 1000);
    return { access_token: token, expires_in: ttl, token_type: 'Bearer', scope: body.scope ?? 'api' };
  });

  const notFound = (reply: FastifyReply, what: string) => reply.code(404).send({ name: 'Not Found', message: [`${what} not found`] });
  const userOr404 = (req: FastifyRequest, reply: FastifyReply) => {
    const user = store.users.get(Number((req.params as { id: string }).id));
    if (!user) notFound(reply, 'User');
    return user;
  };

  // Users
  app.get('/manage/v1/user', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    let users = [...store.users.values()];
    if (q.external_id) users = users.filter((u) => u.external_id === q.external_id);
    if (q.search_text) {
      const needle = q.search_text.toLowerCase();
      users = users.filter((u) => [u.username, u.email, u.first_name, u.last_name].some((f) => f.toLowerCase().includes(needle)));
    }
    return page(users.map((u) => store.userJson(u)), q);
  });

  app.get('/manage/v1/user/:id', async (req, reply) => {
    const user = userOr404(req, reply);
    if (!user) return reply;
    return {
      data: {
        user_data: store.userJson(user),
        branches: [...user.branches].map((b) => store.branches.get(b)).filter(Boolean),
        groups: [...user.groups].map((g) => store.groups.get(g)).filter(Boolean),
      },
    };
  });

  app.post('/manage/v1/user', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const missing = ['userid', 'email', 'firstname', 'lastname'].filter((f) => typeof b[f] !== 'string' || !(b[f] as string));
    if (missing.length) return reply.code(400).send({ name: 'Bad Request', message: missing.map((f) => `${f} is required`) });
    const username = String(b.userid).toLowerCase();
    if ([...store.users.values()].some((u) => u.username === username)) {
      return reply.code(400).send({ name: 'Bad Request', message: ['User already exists'] });
    }
    const id = store.id();
    const user: User = {
      user_id: id,
      username,
      email: String(b.email),
      first_name: String(b.firstname),
      last_name: String(b.lastname),
      status: b.status === 0 || b.status === '0' ? 0 : 1,
      level: typeof b.level === 'string' ? b.level : 'user',
      external_id: typeof b.external_id === 'string' ? b.external_id : null,
      role: typeof b.role === 'string' ? b.role : null,
      manager_id: typeof b.manager_id === 'string' ? b.manager_id : null,
      branches: new Set(),
      groups: new Set(),
      creation_date: new Date().toISOString(),
    };
    const branchId = Number(b.branch_id);
    if (b.branch_id !== undefined) {
      if (!store.branches.has(branchId)) return reply.code(400).send({ name: 'Bad Request', message: ['Invalid branch_id'] });
      user.branches.add(branchId);
    }
    store.users.set(id, user);
    stats.usersCreated++;
    writtenAt.set(id, Date.now());
    return { data: { success: true, user_id: id } };
  });

  app.put('/manage/v1/user/change_status', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const status = Number(b.status);
    if (status !== 0 && status !== 1) return reply.code(400).send({ name: 'Bad Request', message: ['status must be 0 or 1'] });
    const userIds = ids(b.user_ids);
    if (!userIds.length) return reply.code(400).send({ name: 'Bad Request', message: ['user_ids is required'] });
    for (const id of userIds) {
      const user = store.users.get(id);
      if (user) user.status = status;
    }
    return { data: { success: true } };
  });

  app.put('/manage/v1/user/:id', async (req, reply) => {
    const user = userOr404(req, reply);
    if (!user) return reply;
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.userid === 'string') {
      const username = b.userid.toLowerCase();
      if ([...store.users.values()].some((u) => u.username === username && u !== user)) {
        return reply.code(400).send({ name: 'Bad Request', message: ['User already exists'] });
      }
      user.username = username;
    }
    if (typeof b.email === 'string') user.email = b.email;
    if (typeof b.firstname === 'string') user.first_name = b.firstname;
    if (typeof b.lastname === 'string') user.last_name = b.lastname;
    if (b.role !== undefined) user.role = b.role === null ? null : String(b.role);
    if (b.manager_id !== undefined) user.manager_id = b.manager_id === null ? null : String(b.manager_id);
    return { data: { success: true, user_id: user.user_id } };
  });

  // Branches (the org chart)
  app.get('/manage/v1/orgchart', async (req) => page([...store.branches.values()], req.query as Record<string, string>));

  app.post('/manage/v1/orgchart/:id/users', async (req, reply) => {
    const branch = store.branches.get(Number((req.params as { id: string }).id));
    if (!branch) return notFound(reply, 'Branch');
    for (const id of ids(((req.body ?? {}) as Record<string, unknown>).user_ids)) store.users.get(id)?.branches.add(branch.id_org);
    return { data: { success: true } };
  });

  app.delete('/manage/v1/orgchart/:id/users', async (req, reply) => {
    const branch = store.branches.get(Number((req.params as { id: string }).id));
    if (!branch) return notFound(reply, 'Branch');
    for (const id of ids(((req.body ?? {}) as Record<string, unknown>).user_ids)) store.users.get(id)?.branches.delete(branch.id_org);
    return { data: { success: true } };
  });

  // Groups
  app.get('/manage/v1/group', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    let groups = [...store.groups.values()];
    if (q.search_text) groups = groups.filter((g) => g.name.toLowerCase().includes(q.search_text!.toLowerCase()));
    return page(groups.map((g) => ({ ...g, group_id: String(g.group_id) })), q);
  });

  app.post('/manage/v1/group', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== 'string' || !b.name) return reply.code(400).send({ name: 'Bad Request', message: ['name is required'] });
    if ([...store.groups.values()].some((g) => g.name === b.name)) {
      return reply.code(400).send({ name: 'Bad Request', message: ['A group with this name already exists'] });
    }
    const id = store.id();
    store.groups.set(id, { group_id: id, name: b.name, description: typeof b.description === 'string' ? b.description : '' });
    return { data: { success: true, group_id: id } };
  });

  const groupMembers = (add: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const group = store.groups.get(Number((req.params as { id: string }).id));
    if (!group) return notFound(reply, 'Group');
    for (const id of ids(((req.body ?? {}) as Record<string, unknown>).user_ids)) {
      const user = store.users.get(id);
      if (add) user?.groups.add(group.group_id);
      else user?.groups.delete(group.group_id);
    }
    return { data: { success: true } };
  };
  app.post('/manage/v1/group/:id/members', groupMembers(true));
  app.delete('/manage/v1/group/:id/members', groupMembers(false));

  // Courses and enrollments
  app.get('/learn/v1/courses', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    let courses = [...store.courses.values()];
    if (q.search_text) courses = courses.filter((c) => c.code === q.search_text || c.name.includes(q.search_text!));
    // Courses a user teaches (ILT instructor) or wrote (author), for knowledge retention.
    if (q.instructor_id) courses = courses.filter((c) => c.instructors.has(Number(q.instructor_id)));
    if (q.author_id) courses = courses.filter((c) => c.authors.has(Number(q.author_id)));
    return page(courses.map((c) => store.courseJson(c)), q);
  });

  app.get('/learn/v1/enrollments', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const userIds = new Set(ids(q.user_id?.split(',')));
    const courseIds = new Set(ids(q.course_id?.split(',')));
    const from = q.completion_date_from ? Date.parse(q.completion_date_from) : null;
    const items = [...store.enrollments.values()].filter(
      (e) =>
        (!userIds.size || userIds.has(e.id_user)) &&
        (!courseIds.size || courseIds.has(e.id_course)) &&
        (!q.status || e.status === q.status) &&
        (from === null || (e.date_complete !== null && Date.parse(e.date_complete) >= from)),
    );
    if (q.sort_attr === 'date_complete') items.sort((a, b) => (a.date_complete ?? '').localeCompare(b.date_complete ?? '') * (q.sort_dir === 'desc' ? -1 : 1));
    return page(items.map((e) => store.enrollmentJson(e)), q);
  });

  app.post('/learn/v1/enrollments', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const courseIds = ids(b.course_ids);
    const userIds = ids(b.user_ids);
    if (!courseIds.length || !userIds.length) {
      return reply.code(400).send({ name: 'Bad Request', message: ['course_ids and user_ids are required'] });
    }
    const enrolled: { user_id: number; course_id: number }[] = [];
    const errors: { user_id: number; course_id: number; message: string }[] = [];
    for (const courseId of courseIds) {
      for (const userId of userIds) {
        const key = `${courseId}:${userId}`;
        if (!store.courses.has(courseId)) errors.push({ user_id: userId, course_id: courseId, message: 'Invalid course' });
        else if (!store.users.has(userId)) errors.push({ user_id: userId, course_id: courseId, message: 'Invalid user' });
        else if (store.enrollments.has(key)) errors.push({ user_id: userId, course_id: courseId, message: 'User already enrolled' });
        else {
          store.enrollments.set(key, {
            id_user: userId,
            id_course: courseId,
            status: 'subscribed',
            enroll_date: new Date().toISOString(),
            due_date: typeof b.due_date === 'string' ? b.due_date : null,
            date_complete: null,
            score: null,
          });
          writtenAt.set(userId, Date.now());
          enrolled.push({ user_id: userId, course_id: courseId });
        }
      }
    }
    return { data: { enrolled, errors } };
  });

  // Starts a completed (or expired) enrollment over, keeping nothing of its tracking: a recertification.
  app.put('/learn/v1/enrollments/:course/:user', async (req, reply) => {
    const p = req.params as { course: string; user: string };
    const e = store.enrollments.get(`${Number(p.course)}:${Number(p.user)}`);
    if (!e) return notFound(reply, 'Enrollment');
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.due_date === 'string') e.due_date = b.due_date;
    if (b.status === 'subscribed' || b.reset_tracking === true) Object.assign(e, { status: 'subscribed', date_complete: null, score: null, enroll_date: new Date().toISOString() });
    return { data: store.enrollmentJson(e) };
  });

  app.delete('/learn/v1/enrollments/:course/:user', async (req, reply) => {
    const p = req.params as { course: string; user: string };
    const key = `${Number(p.course)}:${Number(p.user)}`;
    if (!store.enrollments.delete(key)) return notFound(reply, 'Enrollment');
    return { data: { success: true } };
  });

  // Inspection and test controls; not part of the vendor API.
  app.get('/sim/state', async () => store.snapshot());
  app.get('/sim/stats', async () => stats);
  conditions.registerControls(app);
  app.post('/sim/course-staff', async (req, reply) => {
    const b = req.body as { externalId: string; courseCode: string; role: 'instructor' | 'author' };
    const user = [...store.users.values()].find((u) => u.external_id === b.externalId);
    const course = [...store.courses.values()].find((c) => c.code === b.courseCode);
    if (!user || !course) return notFound(reply, 'User or course');
    (b.role === 'author' ? course.authors : course.instructors).add(user.user_id);
    return { data: store.courseJson(course) };
  });

  app.post('/sim/completions', async (req, reply) => {
    const b = req.body as { externalId: string; courseCode: string; score?: number; completedAt?: string };
    const user = [...store.users.values()].find((u) => u.external_id === b.externalId);
    const course = [...store.courses.values()].find((c) => c.code === b.courseCode);
    if (!user || !course) return notFound(reply, 'User or course');
    const key = `${course.id_course}:${user.user_id}`;
    const existing = store.enrollments.get(key);
    const completedAt = b.completedAt ?? new Date().toISOString();
    store.enrollments.set(key, {
      id_user: user.user_id,
      id_course: course.id_course,
      enroll_date: existing?.enroll_date ?? completedAt,
      due_date: existing?.due_date ?? null,
      status: 'completed',
      date_complete: completedAt,
      score: b.score ?? 100,
    });
    announce({ user_id: user.user_id, username: user.username, course_id: course.id_course, course_code: course.code, completion_date: completedAt, score: b.score ?? 100 });
    return { data: store.enrollmentJson(store.enrollments.get(key)!) };
  });

  const server = await serve(app, options.port ?? 0);
  return {
    ...server,
    setWebhook: (w) => void (webhook = w),
    lastWriteAt: (externalId) => {
      const user = [...store.users.values()].find((u) => u.external_id === externalId);
      return user ? writtenAt.get(user.user_id) : undefined;
    },
    webhookDeliveries: webhooks.deliveries,
    idle: webhooks.idle,
    snapshot: () => store.snapshot(),
    injectFault: conditions.injectFault,
    tamper: (externalId, change) => {
      const user = [...store.users.values()].find((u) => u.external_id === externalId);
      if (!user) throw new Error(`no LMS user with external id ${externalId}`);
      if (change.status !== undefined) user.status = change.status;
      if (change.removeGroup) {
        const group = [...store.groups.values()].find((g) => g.name === change.removeGroup);
        if (group) user.groups.delete(group.group_id);
      }
      if (change.removeCourse) {
        const course = [...store.courses.values()].find((c) => c.code === change.removeCourse);
        if (course) store.enrollments.delete(`${course.id_course}:${user.user_id}`);
      }
      if (change.branch !== undefined) {
        user.branches.clear();
        const branch = [...store.branches.values()].find((b) => b.code === change.branch);
        if (branch) user.branches.add(branch.id_org);
      }
    },
    importLearners: (learners) => {
      const groupId = (name: string) => {
        const found = [...store.groups.values()].find((g) => g.name === name);
        if (found) return found.group_id;
        const id = store.id();
        store.groups.set(id, { group_id: id, name, description: '' });
        return id;
      };
      for (const l of learners) {
        const id = store.id();
        const branch = [...store.branches.values()].find((b) => b.code === l.branch);
        store.users.set(id, {
          user_id: id,
          username: l.username.toLowerCase(),
          email: l.username,
          first_name: l.firstName ?? '',
          last_name: l.lastName ?? '',
          status: l.status ?? 1,
          level: 'user',
          external_id: l.externalId,
          role: l.role ?? null,
          manager_id: null,
          branches: new Set(branch ? [branch.id_org] : []),
          groups: new Set((l.groups ?? []).map(groupId)),
          creation_date: new Date().toISOString(),
        });
        for (const c of l.courses ?? []) {
          const course = [...store.courses.values()].find((x) => x.code === c.code);
          if (!course) continue;
          store.enrollments.set(`${course.id_course}:${id}`, { id_user: id, id_course: course.id_course, status: c.status ?? 'subscribed', enroll_date: new Date().toISOString(), due_date: c.dueDate ?? null, date_complete: null, score: null });
        }
      }
    },
    clearFaults: conditions.clearFaults,
    setLatency: (ms) => void (latencyMs = ms),
    setRateLimit: conditions.setRateLimit,
    stats,
  };
}
