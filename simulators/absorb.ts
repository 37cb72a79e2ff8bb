import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createApp, serve, type RunningServer } from './http';
import { vendorConditions, type Fault } from './vendor-conditions';

// An Absorb-style LMS (the Absorb Integration API, v2 shapes): `POST /authenticate` trades an
// admin's username, password and the portal's private key for a token string; every call then
// carries `Authorization: <token>` and `x-api-key: <private key>`. Users sit in exactly one
// department (our "branch"), groups list their members' ids, courses carry our course code as
// `externalId`, enrollments live under the user with integer statuses. The vendor's rough edges
// are kept on purpose:
//   - only one token per admin user: authenticating again invalidates the token handed out before;
//   - `_offset` counts PAGES, not items (`_offset=1&_limit=100` is items 100–199); `_limit` ≤ 1000;
//   - `_filter` is OData, and string comparisons ignore case (`externalId eq 'e1001'` finds E1001);
//   - `PUT /users/{id}` replaces the user: a field left out is cleared (externalId included);
//   - `activeStatus` 0 is ACTIVE and 1 inactive (the reverse of Docebo's status);
//   - a user must have a department; ids are GUIDs; a group's `userIds` is cut at 50,000 with a
//     zero GUID appended; enrolling again in a completed course starts a new enrollment;
//   - due dates come back as `YYYY-MM-DDT00:00:00` (no zone); no webhooks, so completions are
//     polled with `modifiedSince` (enrollments edited strictly after that instant).
// Plus what the Docebo-style simulator has: 429 + Retry-After beyond a rate limit, injected
// faults, latency, and `/sim/*` controls.

export interface AbsorbSimulatorOptions {
  port?: number;
  username?: string;
  password?: string;
  privateKey?: string;
  tokenTtlSeconds?: number;
  /** Requests per second across all clients; 0 turns the limit off. */
  rateLimitPerSecond?: number;
  /** Added to every API call. */
  latencyMs?: number;
  courses?: { code: string; title: string }[];
  /** Seeded as departments under the portal's root department, the code as `externalId`. */
  branches?: { code: string; name: string }[];
  /** How many ids a group's `userIds` lists before it is cut (Absorb: 50,000). */
  groupUserIdsLimit?: number;
}

/** Absorb's course enrollment statuses. */
export const ABSORB_STATUS = {
  NotStarted: 0,
  InProgress: 1,
  PendingApproval: 2,
  Complete: 3,
  NotComplete: 4,
  Failed: 5,
  Declined: 6,
  PendingEvaluationRequired: 7,
  OnWaitlist: 8,
  Absent: 9,
  NotApplicable: 10,
  PendingProctor: 11,
  ReadyForReview: 12,
} as const;

export const MORE_USER_IDS_SENTINEL = '00000000-0000-0000-0000-000000000000';

type CustomFields = Record<string, string | number | boolean | null>;

interface User {
  id: string;
  departmentId: string;
  username: string;
  password: string;
  firstName: string;
  middleName: string | null;
  lastName: string;
  emailAddress: string | null;
  externalId: string | null;
  activeStatus: 0 | 1;
  supervisorId: string | null;
  jobTitle: string | null;
  customFields: CustomFields;
  dateAdded: string;
  dateEdited: string;
}

interface Enrollment {
  id: string;
  userId: string;
  courseId: string;
  status: number;
  progress: number;
  score: number | null;
  dateEnrolled: string;
  dateStarted: string | null;
  dateCompleted: string | null;
  /** YYYY-MM-DD; the API shows it as a zone-less date-time. */
  dateDue: string | null;
  dateEdited: string;
}

interface Department {
  id: string;
  name: string;
  parentId: string | null;
  externalId: string | null;
}

interface Group {
  id: string;
  name: string;
  isAutomatic: boolean;
  userIds: Set<string>;
  dateAdded: string;
}

interface Course {
  id: string;
  name: string;
  externalId: string | null;
  dateAdded: string;
}

export interface ImportedLearner {
  externalId: string;
  username: string;
  firstName?: string;
  lastName?: string;
  role?: string | null;
  branch?: string | null;
  groups?: string[];
  courses?: { code: string; dueDate?: string | null; status?: number }[];
  active?: boolean;
}

export interface AbsorbSimulator extends RunningServer {
  username: string;
  password: string;
  privateKey: string;
  /** Everything the LMS holds, as `GET /sim/state` returns it. */
  snapshot(): ReturnType<AbsorbStore['snapshot']>;
  injectFault(fault: Fault): void;
  /** Changes the LMS behind hrsync's back, as an admin clicking around would. */
  tamper(externalId: string, change: { active?: boolean; removeGroup?: string; removeCourse?: string; branch?: string | null }): void;
  /** Creates accounts directly (another tool, a migration). */
  importLearners(learners: ImportedLearner[]): void;
  /** Every token handed out stops working, as after four hours. */
  expireTokens(): void;
  setLatency(ms: number): void;
  clearFaults(): void;
  setRateLimit(perSecond: number): void;
  stats: { requests: number; byStatus: Record<string, number>; usersCreated: number; authentications: number };
}

/** The custom user fields the simulator's portal has (Absorb: string1…, decimal1…, bool1…). */
const CUSTOM_FIELDS = ['string1', 'string2', 'string3', 'string4', 'string5', 'decimal1', 'decimal2', 'bool1'];
const blankCustomFields = (): CustomFields => Object.fromEntries(CUSTOM_FIELDS.map((f) => [f, null]));

const now = () => new Date().toISOString();

class AbsorbStore {
  users = new Map<string, User>();
  departments = new Map<string, Department>();
  groups = new Map<string, Group>();
  courses = new Map<string, Course>();
  /** Keyed by `${userId}:${courseId}`: the current enrollment of a user in a course. */
  enrollments = new Map<string, Enrollment>();
  rootDepartmentId: string;

  constructor(
    courses: { code: string; title: string }[],
    branches: { code: string; name: string }[],
    private groupUserIdsLimit: number,
  ) {
    this.rootDepartmentId = randomUUID();
    this.departments.set(this.rootDepartmentId, { id: this.rootDepartmentId, name: 'Portal', parentId: null, externalId: null });
    for (const b of branches) {
      const id = randomUUID();
      this.departments.set(id, { id, name: b.name, parentId: this.rootDepartmentId, externalId: b.code });
    }
    for (const c of courses) {
      const id = randomUUID();
      this.courses.set(id, { id, name: c.title, externalId: c.code, dateAdded: now() });
    }
  }

  userJson(u: User) {
    return {
      id: u.id,
      departmentId: u.departmentId,
      firstName: u.firstName,
      middleName: u.middleName,
      lastName: u.lastName,
      username: u.username,
      emailAddress: u.emailAddress,
      ccEmailAddresses: [] as string[],
      languageId: 1,
      jobTitle: u.jobTitle,
      customFields: { ...u.customFields },
      roleIds: [] as string[],
      activeStatus: u.activeStatus,
      isLearner: true,
      isAdmin: false,
      isInstructor: false,
      externalId: u.externalId,
      supervisorId: u.supervisorId,
      dateAdded: u.dateAdded,
      dateEdited: u.dateEdited,
      lastLoginDate: null,
    };
  }

  enrollmentJson(e: Enrollment) {
    const user = this.users.get(e.userId);
    return {
      id: e.id,
      courseId: e.courseId,
      courseName: this.courses.get(e.courseId)?.name ?? null,
      courseVersionId: null,
      userId: e.userId,
      fullName: user ? `${user.firstName} ${user.lastName}`.trim() : null,
      status: e.status,
      progress: e.progress,
      score: e.score,
      acceptedTermsAndConditions: false,
      timeSpent: 'PT0S',
      dateEnrolled: e.dateEnrolled,
      dateStarted: e.dateStarted,
      dateCompleted: e.dateCompleted,
      dateDue: e.dateDue ? `${e.dateDue}T00:00:00` : null,
      dateEdited: e.dateEdited,
      enrollmentKeyId: null,
      certificateId: null,
      credits: 0,
    };
  }

  groupJson(g: Group) {
    const ids = [...g.userIds];
    const userIds = ids.length > this.groupUserIdsLimit ? [...ids.slice(0, this.groupUserIdsLimit), MORE_USER_IDS_SENTINEL] : ids;
    return { id: g.id, name: g.name, isAutomatic: g.isAutomatic, userIds };
  }

  departmentJson(d: Department) {
    return { id: d.id, name: d.name, description: null, parentId: d.parentId, externalId: d.externalId };
  }

  courseJson(c: Course) {
    return { id: c.id, courseType: 'OnlineCourse', name: c.name, description: null, externalId: c.externalId, activeStatus: 0, dateAdded: c.dateAdded, dateEdited: c.dateAdded };
  }

  /** The oldest account with this external id (as a person finds it in the admin UI). */
  userByExternalId(externalId: string): User | undefined {
    return [...this.users.values()].find((u) => u.externalId === externalId);
  }

  courseByCode(code: string): Course | undefined {
    return [...this.courses.values()].find((c) => c.externalId === code);
  }

  departmentByCode(code: string): Department | undefined {
    return [...this.departments.values()].find((d) => d.externalId === code);
  }

  groupNamed(name: string, create: boolean): Group | undefined {
    const found = [...this.groups.values()].find((g) => g.name === name);
    if (found || !create) return found;
    const group: Group = { id: randomUUID(), name, isAutomatic: false, userIds: new Set(), dateAdded: now() };
    this.groups.set(group.id, group);
    return group;
  }

  userEnrollments(userId: string): Enrollment[] {
    return [...this.enrollments.values()].filter((e) => e.userId === userId);
  }

  snapshot() {
    return {
      users: [...this.users.values()].map((u) => ({
        ...this.userJson(u),
        department: this.departments.get(u.departmentId)?.externalId ?? null,
        groups: [...this.groups.values()].filter((g) => g.userIds.has(u.id)).map((g) => g.name),
        enrollments: this.userEnrollments(u.id).map((e) => ({ ...this.enrollmentJson(e), courseCode: this.courses.get(e.courseId)?.externalId ?? null })),
      })),
      departments: [...this.departments.values()].map((d) => this.departmentJson(d)),
      groups: [...this.groups.values()].map((g) => ({ ...this.groupJson(g), userIds: [...g.userIds] })),
      courses: [...this.courses.values()].map((c) => this.courseJson(c)),
    };
  }
}

// ---- OData `_filter`, the subset the portal's list endpoints take -------------------------------

type Op = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
type Literal = { kind: 'string' | 'guid' | 'datetime' | 'number' | 'bool' | 'null'; value: string | number | boolean | null };
type Clause = { field: string; op: Op; literal: Literal };

/** Splits on ` and ` outside quotes. */
function conjuncts(text: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "'") quoted = !quoted;
    else if (!quoted && /^\sand\s/i.test(text.slice(i, i + 5))) {
      parts.push(text.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function literal(text: string): Literal | null {
  let m = /^'((?:[^']|'')*)'$/.exec(text);
  if (m) return { kind: 'string', value: m[1]!.replace(/''/g, "'") };
  m = /^guid'([0-9a-fA-F-]{36})'$/.exec(text);
  if (m) return { kind: 'guid', value: m[1]!.toLowerCase() };
  m = /^datetime'([^']+)'$/.exec(text);
  if (m) return Number.isNaN(Date.parse(m[1]!)) ? null : { kind: 'datetime', value: m[1]! };
  if (/^-?\d+(\.\d+)?$/.test(text)) return { kind: 'number', value: Number(text) };
  if (/^(true|false)$/i.test(text)) return { kind: 'bool', value: text.toLowerCase() === 'true' };
  if (/^null$/i.test(text)) return { kind: 'null', value: null };
  return null;
}

function parseFilter(text: string): Clause[] | null {
  const clauses: Clause[] = [];
  for (const part of conjuncts(text)) {
    const m = /^([A-Za-z][\w/]*)\s+(eq|ne|gt|ge|lt|le)\s+(.+)$/i.exec(part);
    const lit = m ? literal(m[3]!.trim()) : null;
    if (!m || !lit) return null;
    clauses.push({ field: m[1]!, op: m[2]!.toLowerCase() as Op, literal: lit });
  }
  return clauses;
}

/** A field by OData path, names compared without regard to case (`firstname`, `customFields/string1`). */
function fieldOf(item: unknown, path: string): unknown {
  let at: unknown = item;
  for (const name of path.split('/')) {
    if (!at || typeof at !== 'object') return undefined;
    const key = Object.keys(at).find((k) => k.toLowerCase() === name.toLowerCase());
    at = key === undefined ? undefined : (at as Record<string, unknown>)[key];
  }
  return at;
}

function holds(item: unknown, c: Clause): boolean {
  const actual = fieldOf(item, c.field);
  let a: string | number | boolean | null;
  let b: string | number | boolean | null;
  if (c.literal.kind === 'datetime') {
    a = typeof actual === 'string' ? Date.parse(actual) : null;
    b = Date.parse(c.literal.value as string);
  } else if (c.literal.kind === 'string' || c.literal.kind === 'guid') {
    // The portal's database compares text without regard to case.
    a = actual === null || actual === undefined ? null : String(actual).toLowerCase();
    b = (c.literal.value as string).toLowerCase();
  } else {
    a = actual === undefined ? null : (actual as string | number | boolean | null);
    b = c.literal.value;
  }
  if (c.op === 'eq') return a === b;
  if (c.op === 'ne') return a !== b;
  if (a === null || b === null) return false;
  return c.op === 'gt' ? a > b : c.op === 'ge' ? a >= b : c.op === 'lt' ? a < b : a <= b;
}

type Query = Record<string, string | undefined>;

class BadQuery extends Error {}

/** `_filter`, `_sort`, `_offset` (a page number) and `_limit` over a listing. */
function collection<T extends object>(key: string, items: T[], q: Query) {
  let rows = items;
  if (q._filter) {
    const clauses = parseFilter(q._filter);
    if (!clauses) throw new BadQuery(`The filter "${q._filter}" is not valid.`);
    rows = rows.filter((item) => clauses.every((c) => holds(item, c)));
  }
  if (q._sort) {
    const keys = q._sort.split(',').map((k) => k.trim()).filter(Boolean);
    rows = [...rows].sort((x, y) => {
      for (const k of keys) {
        const desc = k.startsWith('-');
        const a = String(fieldOf(x, desc ? k.slice(1) : k) ?? '');
        const b = String(fieldOf(y, desc ? k.slice(1) : k) ?? '');
        if (a !== b) return (a < b ? -1 : 1) * (desc ? -1 : 1);
      }
      return 0;
    });
  }
  const limit = q._limit === undefined ? 20 : Number(q._limit);
  const offset = q._offset === undefined ? 0 : Number(q._offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadQuery('_limit must be a whole number from 1 to 1000.');
  if (!Number.isInteger(offset) || offset < 0 || offset > 65535) throw new BadQuery('_offset must be a whole number from 0 to 65535.');
  const page = rows.slice(offset * limit, (offset + 1) * limit);
  return { totalItems: rows.length, returnedItems: page.length, limit, offset, [key]: page };
}

// ---- the server ------------------------------------------------------------------------------

export async function startAbsorbSimulator(options: AbsorbSimulatorOptions = {}): Promise<AbsorbSimulator> {
  const username = options.username ?? 'hrsync';
  const password = options.password ?? 'hrsync-dev-password';
  const privateKey = options.privateKey ?? 'hrsync-dev-private-key';
  const ttlMs = (options.tokenTtlSeconds ?? 4 * 3600) * 1000;
  const store = new AbsorbStore(options.courses ?? [{ code: 'DEMO-101', title: 'Demo course' }], options.branches ?? [], options.groupUserIdsLimit ?? 50_000);
  const stats = { requests: 0, byStatus: {} as Record<string, number>, usersCreated: 0, authentications: 0 };
  let latencyMs = options.latencyMs ?? 0;
  const conditions = vendorConditions(options.rateLimitPerSecond);
  /** token → when it lapses; one live token per admin user. */
  const tokens = new Map<string, number>();
  let currentToken: string | undefined;

  const validToken = (header: string | undefined): boolean => {
    const token = (header ?? '').replace(/^Bearer\s+/i, '').trim();
    const lapses = tokens.get(token);
    return !!token && token === currentToken && lapses !== undefined && lapses > Date.now();
  };

  const app = createApp();
  app.addHook('onResponse', async (req, reply) => {
    if (!req.url.startsWith('/sim')) stats.byStatus[reply.statusCode] = (stats.byStatus[reply.statusCode] ?? 0) + 1;
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/sim')) return;
    if (req.headers['x-api-key'] !== privateKey) return reply.code(401).send({ code: 'Unauthorized', message: 'A valid x-api-key header is required.' });
    if (req.url.startsWith('/authenticate')) return;
    stats.requests++;
    if (latencyMs) await new Promise((r) => setTimeout(r, latencyMs));
    const fault = conditions.drawFault(req.method, req.url);
    if (fault) {
      if (fault.retryAfterSeconds !== undefined) reply.header('Retry-After', String(fault.retryAfterSeconds));
      return reply.code(fault.status).send({ code: 'InjectedFault', message: `simulated ${fault.status}` });
    }
    const wait = conditions.throttle();
    if (wait) return reply.code(429).header('Retry-After', String(wait)).send({ code: 'TooManyRequests', message: 'Rate limit exceeded.' });
    if (!validToken(req.headers.authorization)) return reply.code(401).send({ code: 'Unauthorized', message: 'The token is invalid or has expired.' });
  });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof BadQuery) return reply.code(400).send({ code: 'BadRequest', message: err.message });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ code: status < 500 ? 'BadRequest' : 'InternalServerError', message: (err as Error).message });
  });

  app.post('/authenticate', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.username !== username || b.password !== password || b.privateKey !== privateKey) {
      return reply.code(401).send({ code: 'Unauthorized', message: 'The username, password or private key is not valid.' });
    }
    stats.authentications++;
    currentToken = randomBytes(24).toString('base64url');
    tokens.set(currentToken, Date.now() + ttlMs);
    // The token comes back as a JSON string, not an object.
    return reply.type('application/json').send(JSON.stringify(currentToken));
  });

  const unprocessable = (reply: FastifyReply, message: string) => reply.code(422).send({ code: 'UnprocessableEntity', message });
  const notFound = (reply: FastifyReply, what: string) => reply.code(404).send({ code: 'NotFound', message: `${what} not found.` });
  const param = (req: FastifyRequest, name: string) => String((req.params as Record<string, string>)[name] ?? '').toLowerCase();
  const query = (req: FastifyRequest) => req.query as Query;

  /** The writable fields of a user from a create or a (replacing) update; an error message when invalid. */
  function userFields(b: Record<string, unknown>, self: User | undefined): Omit<User, 'id' | 'password' | 'dateAdded' | 'dateEdited'> | string {
    const missing = ['departmentId', 'firstName', 'lastName', 'username'].filter((f) => typeof b[f] !== 'string' || !b[f]);
    if (missing.length) return `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required.`;
    const departmentId = String(b.departmentId).toLowerCase();
    if (!store.departments.has(departmentId)) return 'departmentId does not name a department.';
    const name = String(b.username);
    if ([...store.users.values()].some((u) => u !== self && u.username.toLowerCase() === name.toLowerCase())) return `The username ${name} is already in use.`;
    const supervisorId = typeof b.supervisorId === 'string' && b.supervisorId ? b.supervisorId.toLowerCase() : null;
    if (supervisorId && !store.users.has(supervisorId)) return 'supervisorId does not name a user.';
    const custom = blankCustomFields();
    for (const [k, v] of Object.entries((b.customFields ?? {}) as Record<string, unknown>)) {
      if (!(k in custom)) return `customFields.${k} is not a custom field of this portal.`;
      custom[k] = v as CustomFields[string];
    }
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      departmentId,
      username: name,
      firstName: String(b.firstName),
      lastName: String(b.lastName),
      middleName: text(b.middleName),
      emailAddress: text(b.emailAddress),
      externalId: text(b.externalId),
      activeStatus: Number(b.activeStatus) === 1 ? 1 : 0,
      supervisorId,
      jobTitle: text(b.jobTitle),
      customFields: custom,
    };
  }

  // Users
  app.get('/users', async (req) => collection('users', [...store.users.values()].map((u) => store.userJson(u)), query(req)));

  app.get('/users/:id', async (req, reply) => {
    const user = store.users.get(param(req, 'id'));
    return user ? store.userJson(user) : notFound(reply, 'User');
  });

  app.post('/users', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.password !== 'string' || !b.password) return unprocessable(reply, 'password is required.');
    const fields = userFields(b, undefined);
    if (typeof fields === 'string') return unprocessable(reply, fields);
    const user: User = { id: randomUUID(), password: b.password, dateAdded: now(), dateEdited: now(), ...fields };
    store.users.set(user.id, user);
    stats.usersCreated++;
    return reply.code(201).send(store.userJson(user));
  });

  // A replacement: what the body leaves out is cleared.
  app.put('/users/:id', async (req, reply) => {
    const user = store.users.get(param(req, 'id'));
    if (!user) return notFound(reply, 'User');
    const fields = userFields((req.body ?? {}) as Record<string, unknown>, user);
    if (typeof fields === 'string') return unprocessable(reply, fields);
    Object.assign(user, fields, { dateEdited: now() });
    return store.userJson(user);
  });

  // Departments
  app.get('/departments', async (req) => {
    const q = query(req);
    let departments = [...store.departments.values()];
    if (q.externalId) departments = departments.filter((d) => d.externalId?.toLowerCase() === q.externalId!.toLowerCase());
    if (q.departmentName) departments = departments.filter((d) => d.name.toLowerCase() === q.departmentName!.toLowerCase());
    return collection('departments', departments.map((d) => store.departmentJson(d)), q);
  });

  app.get('/departments/:id', async (req, reply) => {
    const department = store.departments.get(param(req, 'id'));
    return department ? store.departmentJson(department) : notFound(reply, 'Department');
  });

  // Groups (names are not unique in the portal)
  app.get('/groups', async (req) => collection('groups', [...store.groups.values()].map((g) => store.groupJson(g)), query(req)));

  app.post('/groups', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== 'string' || !b.name.trim()) return unprocessable(reply, 'name is required.');
    const group: Group = { id: randomUUID(), name: b.name, isAutomatic: b.isAutomatic === true, userIds: new Set(), dateAdded: now() };
    store.groups.set(group.id, group);
    return reply.code(201).send(store.groupJson(group));
  });

  app.post('/groups/:id/users', async (req, reply) => {
    const group = store.groups.get(param(req, 'id'));
    if (!group) return notFound(reply, 'Group');
    if (group.isAutomatic) return unprocessable(reply, 'The members of an automatic group follow its rules and cannot be set.');
    const userIds = ((req.body ?? {}) as { userIds?: unknown }).userIds;
    if (!Array.isArray(userIds) || !userIds.length) return unprocessable(reply, 'userIds is required.');
    const ids = userIds.map((id) => String(id).toLowerCase());
    const unknown = ids.filter((id) => !store.users.has(id));
    if (unknown.length) return unprocessable(reply, `No user ${unknown.join(', ')}.`);
    for (const id of ids) group.userIds.add(id);
    return store.groupJson(group);
  });

  app.delete('/groups/:id/users/:userId', async (req, reply) => {
    const group = store.groups.get(param(req, 'id'));
    if (!group) return notFound(reply, 'Group');
    if (!group.userIds.delete(param(req, 'userId'))) return notFound(reply, 'Group member');
    return reply.code(204).send();
  });

  // Courses
  app.get('/courses', async (req) => collection('courses', [...store.courses.values()].map((c) => store.courseJson(c)), query(req)));

  // Enrollments
  const enrollmentListing = (enrollments: Enrollment[], q: Query) => {
    const since = q.modifiedSince ? Date.parse(q.modifiedSince) : null;
    if (since !== null && Number.isNaN(since)) throw new BadQuery('modifiedSince must be a date-time.');
    const status = q.status === undefined ? null : Number(q.status);
    const rows = enrollments.filter((e) => (status === null || e.status === status) && (since === null || Date.parse(e.dateEdited) > since));
    return collection('enrollments', rows.map((e) => store.enrollmentJson(e)), q);
  };

  app.get('/users/:id/enrollments', async (req, reply) => {
    const user = store.users.get(param(req, 'id'));
    if (!user) return notFound(reply, 'User');
    return enrollmentListing(store.userEnrollments(user.id), query(req));
  });

  // Every course enrollment of the portal (for pollers and reports), newest edits last with _sort=dateEdited.
  app.get('/enrollments', async (req) => enrollmentListing([...store.enrollments.values()], query(req)));

  app.post('/users/:id/enrollments', async (req, reply) => {
    const user = store.users.get(param(req, 'id'));
    if (!user) return notFound(reply, 'User');
    const b = (req.body ?? {}) as Record<string, unknown>;
    const courseId = typeof b.courseId === 'string' ? b.courseId.toLowerCase() : '';
    if (!store.courses.has(courseId)) return notFound(reply, 'Course');
    const key = `${user.id}:${courseId}`;
    const existing = store.enrollments.get(key);
    // Enrolled and not complete: nothing changes. Complete: a NEW enrollment replaces it.
    if (existing && existing.status !== ABSORB_STATUS.Complete) return store.enrollmentJson(existing);
    const due = typeof b.dateDue === 'string' && b.dateDue ? b.dateDue.slice(0, 10) : null;
    const enrollment: Enrollment = { id: randomUUID(), userId: user.id, courseId, status: ABSORB_STATUS.NotStarted, progress: 0, score: null, dateEnrolled: now(), dateStarted: null, dateCompleted: null, dateDue: due, dateEdited: now() };
    store.enrollments.set(key, enrollment);
    return reply.code(201).send(store.enrollmentJson(enrollment));
  });

  // Moves the due date of an enrollment.
  app.put('/users/:id/enrollments/:courseId', async (req, reply) => {
    const enrollment = store.enrollments.get(`${param(req, 'id')}:${param(req, 'courseId')}`);
    if (!enrollment) return notFound(reply, 'Enrollment');
    const due = ((req.body ?? {}) as Record<string, unknown>).dateDue;
    if (due !== null && (typeof due !== 'string' || Number.isNaN(Date.parse(due)))) return unprocessable(reply, 'dateDue must be a date or null.');
    Object.assign(enrollment, { dateDue: due ? due.slice(0, 10) : null, dateEdited: now() });
    return store.enrollmentJson(enrollment);
  });

  app.delete('/users/:id/enrollments/:courseId', async (req, reply) => {
    if (!store.enrollments.delete(`${param(req, 'id')}:${param(req, 'courseId')}`)) return notFound(reply, 'Enrollment');
    return reply.code(204).send();
  });

  // Inspection and test controls; not part of the vendor API.
  app.get('/sim/state', async () => store.snapshot());
  app.get('/sim/stats', async () => stats);
  conditions.registerControls(app);
  app.post('/sim/completions', async (req, reply) => {
    const b = req.body as { externalId: string; courseCode: string; score?: number; completedAt?: string };
    const user = store.userByExternalId(b.externalId);
    const course = store.courseByCode(b.courseCode);
    if (!user || !course) return notFound(reply, 'User or course');
    const key = `${user.id}:${course.id}`;
    const existing = store.enrollments.get(key);
    const completedAt = b.completedAt ? new Date(b.completedAt).toISOString() : now();
    const enrollment: Enrollment = {
      id: existing?.id ?? randomUUID(),
      userId: user.id,
      courseId: course.id,
      status: ABSORB_STATUS.Complete,
      progress: 100,
      score: b.score ?? 100,
      dateEnrolled: existing?.dateEnrolled ?? completedAt,
      dateStarted: existing?.dateStarted ?? completedAt,
      dateCompleted: completedAt,
      dateDue: existing?.dateDue ?? null,
      dateEdited: now(),
    };
    store.enrollments.set(key, enrollment);
    return store.enrollmentJson(enrollment);
  });

  const server = await serve(app, options.port ?? 0);
  return {
    ...server,
    username,
    password,
    privateKey,
    snapshot: () => store.snapshot(),
    injectFault: conditions.injectFault,
    tamper: (externalId, change) => {
      const user = store.userByExternalId(externalId);
      if (!user) throw new Error(`no LMS user with external id ${externalId}`);
      if (change.active !== undefined) user.activeStatus = change.active ? 0 : 1;
      if (change.removeGroup) store.groupNamed(change.removeGroup, false)?.userIds.delete(user.id);
      if (change.removeCourse) {
        const course = store.courseByCode(change.removeCourse);
        if (course) store.enrollments.delete(`${user.id}:${course.id}`);
      }
      if (change.branch !== undefined) user.departmentId = (change.branch && store.departmentByCode(change.branch)?.id) || store.rootDepartmentId;
      user.dateEdited = now();
    },
    importLearners: (learners) => {
      for (const l of learners) {
        const user: User = {
          id: randomUUID(),
          departmentId: (l.branch && store.departmentByCode(l.branch)?.id) || store.rootDepartmentId,
          username: l.username,
          password: randomBytes(12).toString('base64url'),
          firstName: l.firstName ?? '',
          middleName: null,
          lastName: l.lastName ?? '',
          emailAddress: l.username,
          externalId: l.externalId,
          activeStatus: l.active === false ? 1 : 0,
          supervisorId: null,
          jobTitle: null,
          customFields: { ...blankCustomFields(), string1: l.role ?? null },
          dateAdded: now(),
          dateEdited: now(),
        };
        store.users.set(user.id, user);
        for (const name of l.groups ?? []) store.groupNamed(name, true)!.userIds.add(user.id);
        for (const c of l.courses ?? []) {
          const course = store.courseByCode(c.code);
          if (!course) continue;
          const status = c.status ?? ABSORB_STATUS.NotStarted;
          store.enrollments.set(`${user.id}:${course.id}`, { id: randomUUID(), userId: user.id, courseId: course.id, status, progress: 0, score: null, dateEnrolled: now(), dateStarted: null, dateCompleted: null, dateDue: c.dueDate ?? null, dateEdited: now() });
        }
      }
    },
    expireTokens: () => tokens.clear(),
    setLatency: (ms) => void (latencyMs = ms),
    clearFaults: conditions.clearFaults,
    setRateLimit: conditions.setRateLimit,
    stats,
  };
}
