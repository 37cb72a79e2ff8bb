import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse as parseScimFilter, type Filter } from 'scim2-parse-filter';
import { z } from 'zod';
import { previousProfile, readSnapshot, writeSnapshot } from '../activities/intake';
import { changeEvents } from '../domain/changes';
import { isoDateOf } from '../domain/dates';
import { describeInvalid, EmployeeProfile, HrEvent, HrProfile, type EmploymentType } from '../domain/hr-event';
import { keyedLock, type BridgeContext } from './bridge';

// SCIM 2.0 service provider (RFC 7643/7644) at /scim/v2, so an identity provider (Okta, Entra)
// can push users and groups (SPEC §4, §9). The SCIM resources live in PostgreSQL (scim_users,
// scim_groups, scim_group_members); what they mean for hrsync goes through the canonical events
// only, never straight to the LMS:
// - a user maps to an HR profile (employee id = enterprise employeeNumber, else externalId; the
//   job code, site and start date from the HRIS when it knows the person) and changeEvents()
//   turns the difference from the last SCIM profile of that person into events (a first sight is
//   a hire, active=false a termination, a new title or department a role change, ...);
// - a member joining a group is an access_grant for the group's displayName;
// - leaving a group is recorded, and starts nothing (there is no revoke event).
// Event ids are deterministic per change (scim-<user id>-<version>-<type>, and for a grant
// scim-grant-<group id>-<user id>-<name hash>), so a retried request is a redelivery.
// Every accepted write is kept raw (raw_deliveries) with the events it produced; every rejected
// request is dead-lettered; passwords an IdP may send are never stored.

export const SCIM_SOURCE = 'scim';
const BASE = '/scim/v2';
const MEDIA_TYPE = 'application/scim+json; charset=utf-8';
const MAX_RESULTS = 200;

export const SCIM_URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

// ---------------------------------------------------------------------------------------------
// Errors

/** RFC 7644 §3.12 scimType values. */
type ScimType = 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: ScimType,
  ) {
    super(message);
  }
}

const scimErrorBody = (status: number, detail: string, scimType?: ScimType) => ({
  schemas: [SCIM_URN.error],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail,
});

// ---------------------------------------------------------------------------------------------
// JSON helpers

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined);
const clone = <T>(v: T): T => structuredClone(v);

/** JSON with object keys sorted, so two resources compare equal whatever order their keys came in. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** SCIM attribute names are case-insensitive (RFC 7643 §2.1); these are the spellings we keep. */
const CANONICAL = new Map(
  [
    'userName', 'name', 'formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix', 'displayName',
    'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'password', 'emails',
    'phoneNumbers', 'ims', 'photos', 'addresses', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'groups',
    'entitlements', 'roles', 'x509Certificates', 'value', 'display', 'type', 'primary', '$ref', 'externalId', 'id', 'meta',
    'schemas', 'employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager', 'members', 'Operations',
    'op', 'path',
    SCIM_URN.user, SCIM_URN.group, SCIM_URN.enterprise,
  ].map((n) => [n.toLowerCase(), n]),
);
const canonical = (name: string) => CANONICAL.get(name.toLowerCase()) ?? name;

/** Canonical attribute spellings all the way down; null means "no value" in SCIM, so it goes. */
function canonicalKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(canonicalKeys);
  if (!isObject(v)) return v;
  const out: Json = {};
  for (const [k, value] of Object.entries(v)) if (value !== null) out[canonical(k)] = canonicalKeys(value);
  return out;
}

const findKey = (obj: Json, name: string) => Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());

/** Entra sends booleans as "True"/"False". */
function asBoolean(v: unknown): unknown {
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  return v;
}

/** Passwords an IdP may push (Okta can) are never kept: not in the resource, not in a kept body. */
function redactPasswords(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactPasswords);
  if (!isObject(v)) return v;
  const out: Json = {};
  for (const [k, value] of Object.entries(v)) out[k] = /^password$/i.test(k) ? '[redacted]' : redactPasswords(value);
  if (typeof out.path === 'string' && /(^|:)password$/i.test(out.path) && 'value' in out) out.value = '[redacted]';
  return out;
}

function keepableBody(raw: string): string {
  if (!/password/i.test(raw)) return raw;
  try {
    return JSON.stringify(redactPasswords(JSON.parse(raw)));
  } catch {
    return raw.replace(/("password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"[redacted]"');
  }
}

// ---------------------------------------------------------------------------------------------
// Resources as they come in

const MULTI_VALUED = new Set(['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates', 'members']);
const text = z.string();
const MultiValue = z.looseObject({ value: text.optional(), type: text.optional(), primary: z.boolean().optional(), display: text.optional() });

const ScimUserInput = z.looseObject({
  userName: z.string().trim().min(1, 'is required'),
  externalId: text.optional(),
  active: z.boolean().optional(),
  displayName: text.optional(),
  title: text.optional(),
  userType: text.optional(),
  name: z.looseObject({ formatted: text.optional(), givenName: text.optional(), familyName: text.optional(), middleName: text.optional() }).optional(),
  emails: z.array(MultiValue.extend({ value: z.string().min(1, 'is required') })).optional(),
  phoneNumbers: z.array(MultiValue).optional(),
  addresses: z.array(z.looseObject({ locality: text.optional(), region: text.optional(), country: text.optional(), type: text.optional(), primary: z.boolean().optional() })).optional(),
  [SCIM_URN.enterprise]: z
    .looseObject({
      employeeNumber: text.optional(),
      costCenter: text.optional(),
      organization: text.optional(),
      division: text.optional(),
      department: text.optional(),
      manager: z.looseObject({ value: text.optional(), displayName: text.optional() }).optional(),
    })
    .optional(),
});

const ScimGroupInput = z.looseObject({
  displayName: z.string().trim().min(1, 'is required'),
  externalId: text.optional(),
  members: z.array(z.looseObject({ value: z.string().min(1, 'is required'), type: text.optional() })).optional(),
});

function invalid(error: z.ZodError, what: string): ScimError {
  const { message } = describeInvalid(error);
  return new ScimError(400, `${what}: ${message}`, 'invalidValue');
}

/** A user resource as we keep it: canonical names, real booleans, no server-owned attributes. */
function normalizeUser(input: unknown): Json {
  if (!isObject(input)) throw new ScimError(400, 'the body must be a JSON object (a SCIM User)', 'invalidSyntax');
  const r = canonicalKeys(input) as Json;
  for (const owned of ['id', 'meta', 'groups', 'password', 'schemas']) delete r[owned];
  if ('active' in r) r.active = asBoolean(r.active);
  for (const multi of ['emails', 'phoneNumbers', 'addresses', 'ims', 'photos', 'roles', 'entitlements']) {
    if (Array.isArray(r[multi])) r[multi] = (r[multi] as unknown[]).map((el) => (isObject(el) && 'primary' in el ? { ...el, primary: asBoolean(el.primary) } : el));
  }
  if (typeof r.externalId === 'number') r.externalId = String(r.externalId);
  const ext = r[SCIM_URN.enterprise];
  if (isObject(ext)) {
    // Entra sends the manager as a bare id; the schema says { value }.
    if (typeof ext.manager === 'string') ext.manager = { value: ext.manager };
    if (typeof ext.employeeNumber === 'number') ext.employeeNumber = String(ext.employeeNumber);
    if (!Object.keys(ext).length) delete r[SCIM_URN.enterprise];
  }
  const parsed = ScimUserInput.safeParse(r);
  if (!parsed.success) throw invalid(parsed.error, 'not a valid SCIM User');
  r.userName = (r.userName as string).trim();
  r.active = r.active ?? true;
  return r;
}

function normalizeGroup(input: unknown): { resource: Json; members: string[] } {
  if (!isObject(input)) throw new ScimError(400, 'the body must be a JSON object (a SCIM Group)', 'invalidSyntax');
  const r = canonicalKeys(input) as Json;
  for (const owned of ['id', 'meta', 'schemas']) delete r[owned];
  const parsed = ScimGroupInput.safeParse(r);
  if (!parsed.success) throw invalid(parsed.error, 'not a valid SCIM Group');
  const members = parsed.data.members ?? [];
  const nested = members.find((m) => m.type && m.type.toLowerCase() === 'group');
  if (nested) throw new ScimError(400, `members: nested groups are not supported (member "${nested.value}" is a Group)`, 'invalidValue');
  delete r.members;
  r.displayName = (r.displayName as string).trim();
  return { resource: r, members: [...new Set(members.map((m) => m.value.toLowerCase()))] };
}

// ---------------------------------------------------------------------------------------------
// PATCH (RFC 7644 §3.5.2), as Okta and Entra send it

const PatchRequest = z.looseObject({
  schemas: z.array(z.string()).optional(),
  Operations: z.array(z.looseObject({ op: z.string(), path: z.string().optional(), value: z.unknown().optional() })).min(1, 'must hold at least one operation'),
});
type PatchOperation = { op: 'add' | 'replace' | 'remove'; path?: string; value?: unknown };

function parsePatch(body: unknown): PatchOperation[] {
  const r = isObject(body) ? (canonicalKeys(body) as Json) : body;
  const parsed = PatchRequest.safeParse(r);
  if (!parsed.success) {
    const { message } = describeInvalid(parsed.error);
    throw new ScimError(400, `not a SCIM PatchOp: ${message}`, 'invalidSyntax');
  }
  if (parsed.data.schemas && !parsed.data.schemas.includes(SCIM_URN.patch)) throw new ScimError(400, `schemas must name ${SCIM_URN.patch}`, 'invalidSyntax');
  return parsed.data.Operations.map((o, i) => {
    const op = o.op.toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new ScimError(400, `Operations.${i}.op "${o.op}" is not add, replace or remove`, 'invalidSyntax');
    return { op, path: o.path?.trim() || undefined, value: o.value === undefined ? undefined : canonicalKeys(o.value) };
  });
}

type ResourceKind = 'User' | 'Group';
interface Target {
  /** In the enterprise extension (users only). */
  ext: boolean;
  /** null: the whole extension object. */
  attr: string | null;
  filter?: Filter;
  sub?: string;
}

function parsePath(path: string, kind: ResourceKind): Target {
  let rest = path.trim();
  const lower = rest.toLowerCase();
  const core = (kind === 'User' ? SCIM_URN.user : SCIM_URN.group).toLowerCase();
  const enterprise = SCIM_URN.enterprise.toLowerCase();
  let ext = false;
  if (kind === 'User' && lower === enterprise) return { ext: true, attr: null };
  if (kind === 'User' && lower.startsWith(`${enterprise}:`)) {
    ext = true;
    rest = rest.slice(enterprise.length + 1);
  } else if (lower.startsWith(`${core}:`)) {
    rest = rest.slice(core.length + 1);
  } else if (lower.startsWith('urn:')) {
    throw new ScimError(400, `path "${path}" names a schema a ${kind} here does not have`, 'invalidPath');
  }
  const m = /^([A-Za-z$][\w$-]*)(?:\[(.*)\])?(?:\.([A-Za-z$][\w$-]*))?$/s.exec(rest);
  if (!m) throw new ScimError(400, `path "${path}" is not an attribute path (attr, attr.sub, attr[filter] or attr[filter].sub)`, 'invalidPath');
  let filter: Filter | undefined;
  if (m[2] !== undefined) {
    try {
      filter = parseScimFilter(m[2]);
    } catch (err) {
      throw new ScimError(400, `path "${path}": the value filter does not parse (${(err as Error).message})`, 'invalidPath');
    }
  }
  return { ext, attr: canonical(m[1]!), filter, sub: m[3] ? canonical(m[3]) : undefined };
}

function attributeOf(el: Json, attrPath: string): unknown {
  let cur: unknown = el;
  for (const part of attrPath.split('.')) {
    if (!isObject(cur)) return undefined;
    const key = findKey(cur, part);
    cur = key === undefined ? undefined : cur[key];
  }
  return cur;
}

/** A value filter inside a path (`members[value eq "…"]`, `emails[type eq "work"]`); strings compare without case. */
function matches(el: Json, f: Filter): boolean {
  switch (f.op) {
    case 'and':
      return f.filters.every((x) => matches(el, x));
    case 'or':
      return f.filters.some((x) => matches(el, x));
    case 'not':
      return !matches(el, f.filter);
    case '[]': {
      const inner = attributeOf(el, f.attrPath);
      return Array.isArray(inner) && inner.some((x) => isObject(x) && matches(x, f.valFilter));
    }
    case 'pr': {
      const v = attributeOf(el, f.attrPath);
      return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length);
    }
    default: {
      const actual = attributeOf(el, f.attrPath);
      const norm = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : asBoolean(v));
      const a = norm(actual);
      const b = norm(f.compValue);
      if (f.op === 'eq') return a === b || (a !== undefined && b !== null && String(a) === String(b));
      if (f.op === 'ne') return !(a === b || String(a) === String(b));
      if (typeof a !== 'string' || typeof b !== 'string') {
        if (typeof a === 'number' && typeof b === 'number') return f.op === 'gt' ? a > b : f.op === 'ge' ? a >= b : f.op === 'lt' ? a < b : f.op === 'le' ? a <= b : false;
        return false;
      }
      switch (f.op) {
        case 'co': return a.includes(b);
        case 'sw': return a.startsWith(b);
        case 'ew': return a.endsWith(b);
        case 'gt': return a > b;
        case 'ge': return a >= b;
        case 'lt': return a < b;
        case 'le': return a <= b;
        default: return false;
      }
    }
  }
}

/** The attributes an `eq` filter pins down: what a new element must hold when none matches yet. */
function eqTerms(f: Filter): Json | null {
  if (f.op === 'eq' && typeof f.attrPath === 'string' && !f.attrPath.includes('.') && f.compValue !== null) return { [canonical(f.attrPath)]: f.compValue };
  if (f.op === 'and') {
    const parts = f.filters.map(eqTerms);
    return parts.every((p) => p) ? Object.assign({}, ...parts) : null;
  }
  return null;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (isObject(a) && isObject(b) && a.value !== undefined && b.value !== undefined) return String(a.value).toLowerCase() === String(b.value).toLowerCase();
  return stable(a) === stable(b);
}

const READ_ONLY: Record<ResourceKind, Set<string>> = { User: new Set(['id', 'meta', 'groups']), Group: new Set(['id', 'meta']) };

function applyPatch(resource: Json, ops: PatchOperation[], kind: ResourceKind, id: string): Json {
  const r = clone(resource);
  const apply = (op: PatchOperation['op'], target: Target, value: unknown, path: string) => {
    if (!target.ext && target.attr === 'schemas') return; // the server's to say
    if (!target.ext && target.attr && READ_ONLY[kind].has(target.attr)) {
      // Okta's path-less group rename repeats the id: harmless when it is this resource's.
      if (target.attr === 'id' && op !== 'remove' && typeof value === 'string' && value.toLowerCase() === id) return;
      throw new ScimError(400, `"${path}" is read-only`, 'mutability');
    }
    if (op !== 'remove' && value === undefined) throw new ScimError(400, `"${op}" of "${path}" has no value`, 'invalidValue');
    let container: Json;
    if (target.ext) {
      const existing = r[SCIM_URN.enterprise];
      if (!isObject(existing)) {
        if (op === 'remove') return;
        r[SCIM_URN.enterprise] = {};
      }
      container = r[SCIM_URN.enterprise] as Json;
      if (target.attr === null) {
        if (op === 'remove') delete r[SCIM_URN.enterprise];
        else if (isObject(value)) Object.assign(container, value);
        else throw new ScimError(400, `"${path}" takes an object`, 'invalidValue');
        return;
      }
    } else {
      container = r;
    }
    const attr = target.attr!;
    const key = findKey(container, attr) ?? attr;
    const current = container[key];

    if (!target.filter) {
      if (!target.sub) {
        if (op === 'remove') {
          // Entra removes chosen members with path "members" and the members as the value.
          if (value !== undefined && Array.isArray(current)) {
            const gone = Array.isArray(value) ? value : [value];
            container[key] = current.filter((el) => !gone.some((g) => sameValue(el, g)));
          } else {
            delete container[key];
          }
        } else if (MULTI_VALUED.has(attr)) {
          const values = Array.isArray(value) ? value : [value];
          const existing = Array.isArray(current) ? current : [];
          container[key] = op === 'add' ? [...existing, ...values.filter((v) => !existing.some((e) => sameValue(e, v)))] : values;
        } else if (isObject(value) && isObject(current)) {
          // A complex attribute: the sub-attributes given replace theirs, the others stay.
          container[key] = { ...current, ...value };
        } else {
          container[key] = value;
        }
        return;
      }
      const sub = target.sub;
      if (Array.isArray(current)) {
        for (const el of current) {
          if (!isObject(el)) continue;
          if (op === 'remove') delete el[findKey(el, sub) ?? sub];
          else el[findKey(el, sub) ?? sub] = value;
        }
      } else if (op === 'remove') {
        if (isObject(current)) delete current[findKey(current, sub) ?? sub];
      } else {
        const obj = isObject(current) ? current : (container[key] = {} as Json);
        obj[findKey(obj, sub) ?? sub] = value;
      }
      return;
    }

    const list = Array.isArray(current) ? current : [];
    const hits = list.filter((el): el is Json => isObject(el) && matches(el, target.filter!));
    if (op === 'remove') {
      if (!target.sub) container[key] = list.filter((el) => !hits.includes(el as Json));
      else for (const h of hits) delete h[findKey(h, target.sub) ?? target.sub];
      return;
    }
    if (!hits.length) {
      // Entra adds a work email as `emails[type eq "work"].value`: create what the filter names.
      const seed = eqTerms(target.filter);
      if (!seed) throw new ScimError(400, `"${path}" matches no value, and its filter does not say what a new one would hold`, 'noTarget');
      if (!target.sub && !isObject(value)) throw new ScimError(400, `"${path}" takes an object`, 'invalidValue');
      container[key] = [...list, { ...seed, ...(target.sub ? { [target.sub]: value } : (value as Json)) }];
      return;
    }
    for (const h of hits) {
      if (target.sub) h[findKey(h, target.sub) ?? target.sub] = value;
      else if (isObject(value)) Object.assign(h, value);
      else throw new ScimError(400, `"${path}" takes an object`, 'invalidValue');
    }
  };

  for (const operation of ops) {
    if (operation.path) {
      apply(operation.op, parsePath(operation.path, kind), operation.value, operation.path);
      continue;
    }
    if (operation.op === 'remove') throw new ScimError(400, 'a "remove" needs a path', 'noTarget');
    if (!isObject(operation.value)) throw new ScimError(400, `a path-less "${operation.op}" takes an object of attributes as its value`, 'invalidValue');
    // Path-less: each key is an attribute path of its own (Entra sends "name.givenName" keys).
    for (const [k, v] of Object.entries(operation.value)) apply(operation.op, parsePath(k, kind), v, k);
  }
  return r;
}

/** User ids an add or replace of `members` names (a repeated add is then a redelivery, not nothing). */
function membersNamed(ops: PatchOperation[]): string[] {
  const ids: string[] = [];
  const collect = (v: unknown) => {
    for (const m of Array.isArray(v) ? v : [v]) if (isObject(m) && typeof m.value === 'string') ids.push(m.value.toLowerCase());
  };
  for (const o of ops) {
    if (o.op === 'remove') continue;
    if (o.path && /^(urn:ietf:params:scim:schemas:core:2\.0:Group:)?members$/i.test(o.path)) collect(o.value);
    if (!o.path && isObject(o.value)) for (const [k, v] of Object.entries(o.value)) if (k.toLowerCase() === 'members') collect(v);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Filters on lists (RFC 7644 §3.4.2.2): the ones identity providers send, as SQL

const FILTERABLE: Record<ResourceKind, string> = {
  User: 'userName, externalId, id or the enterprise employeeNumber with "eq" (and "active eq true|false"), joined by "and"',
  Group: 'displayName, externalId, id or members[value eq "…"] with "eq", joined by "and"',
};

function filterSql(filterText: string, kind: ResourceKind, params: unknown[]): string[] {
  let f: Filter;
  try {
    f = parseScimFilter(filterText);
  } catch (err) {
    throw new ScimError(400, `filter ${JSON.stringify(filterText)} does not parse (${(err as Error).message})`, 'invalidFilter');
  }
  const unsupported = (why: string) => new ScimError(400, `filter ${JSON.stringify(filterText)} is not supported (${why}); filter on ${FILTERABLE[kind]}`, 'invalidFilter');
  const terms: Filter[] = [];
  const flatten = (x: Filter) => (x.op === 'and' ? x.filters.forEach(flatten) : terms.push(x));
  flatten(f);
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const core = (kind === 'User' ? SCIM_URN.user : SCIM_URN.group).toLowerCase();
  return terms.map((t) => {
    if (t.op === '[]') {
      if (kind === 'Group' && t.attrPath.toLowerCase() === 'members' && t.valFilter.op === 'eq' && t.valFilter.attrPath.toLowerCase() === 'value' && typeof t.valFilter.compValue === 'string') {
        return `EXISTS (SELECT 1 FROM scim_group_members m WHERE m.group_id = g.id AND m.user_id::text = lower(${param(t.valFilter.compValue)}))`;
      }
      throw unsupported(`value filter on ${t.attrPath}`);
    }
    if (t.op !== 'eq') throw unsupported(`operator "${t.op}"`);
    let attr = t.attrPath.toLowerCase();
    if (attr.startsWith(`${core}:`)) attr = attr.slice(core.length + 1);
    const v = t.compValue;
    if (kind === 'User' && attr === 'active' && typeof v === 'boolean') return `u.active = ${param(v)}`;
    if (typeof v !== 'string') throw unsupported(`${t.attrPath} compared with ${JSON.stringify(v)}`);
    if (kind === 'User') {
      if (attr === 'username') return `lower(u.user_name) = lower(${param(v)})`;
      if (attr === 'externalid') return `u.external_id = ${param(v)}`;
      if (attr === 'id') return `u.id::text = lower(${param(v)})`;
      if (attr === `${SCIM_URN.enterprise.toLowerCase()}:employeenumber`) return `u.resource -> '${SCIM_URN.enterprise}' ->> 'employeeNumber' = ${param(v)}`;
    } else {
      if (attr === 'displayname') return `lower(g.display_name) = lower(${param(v)})`;
      if (attr === 'externalid') return `g.external_id = ${param(v)}`;
      if (attr === 'id') return `g.id::text = lower(${param(v)})`;
      if (attr === 'members' || attr === 'members.value') return `EXISTS (SELECT 1 FROM scim_group_members m WHERE m.group_id = g.id AND m.user_id::text = lower(${param(v)}))`;
    }
    throw unsupported(`attribute ${t.attrPath}`);
  });
}

function paging(query: Record<string, string | undefined>): { startIndex: number; count: number } {
  const int = (name: string, fallback: number) => {
    const raw = query[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^-?\d+$/.test(raw.trim())) throw new ScimError(400, `${name} must be an integer, not ${JSON.stringify(raw)}`, 'invalidValue');
    return Number(raw);
  };
  // RFC 7644 §3.4.2.4: a startIndex below 1 is 1; a negative count is 0.
  const startIndex = Math.min(Math.max(1, int('startIndex', 1)), 2 ** 31);
  return { startIndex, count: Math.min(MAX_RESULTS, Math.max(0, int('count', MAX_RESULTS))) };
}

/** `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5), on top-level and extension attributes. */
function project(resource: Json, query: Record<string, string | undefined>): Json {
  const names = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
  const always = new Set(['schemas', 'id', 'meta']);
  const split = (name: string): [string | null, string] => {
    const lower = name.toLowerCase();
    for (const urn of [SCIM_URN.user, SCIM_URN.group, SCIM_URN.enterprise]) {
      if (lower.startsWith(`${urn.toLowerCase()}:`)) return [urn === SCIM_URN.enterprise ? urn : null, name.slice(urn.length + 1).split('.')[0]!];
      if (lower === urn.toLowerCase()) return [urn, ''];
    }
    return [null, name.split('.')[0]!];
  };
  const wanted = names(query.attributes);
  if (wanted.length) {
    const out: Json = {};
    for (const k of Object.keys(resource)) if (always.has(k)) out[k] = resource[k];
    for (const name of wanted) {
      const [urn, attr] = split(name);
      if (urn && !attr) {
        if (resource[urn] !== undefined) out[urn] = resource[urn];
      } else if (urn) {
        const ext = resource[urn];
        const key = isObject(ext) ? findKey(ext, attr) : undefined;
        if (isObject(ext) && key) out[urn] = { ...(isObject(out[urn]) ? out[urn] : {}), [key]: ext[key] };
      } else {
        const key = findKey(resource, attr);
        if (key) out[key] = resource[key];
      }
    }
    return out;
  }
  const out = { ...resource };
  for (const name of names(query.excludedAttributes)) {
    const [urn, attr] = split(name);
    if (urn && !attr) delete out[urn];
    else if (urn && isObject(out[urn])) {
      const ext = { ...(out[urn] as Json) };
      const key = findKey(ext, attr);
      if (key) delete ext[key];
      out[urn] = ext;
    } else {
      const key = findKey(out, attr);
      if (key && !always.has(key)) delete out[key];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Discovery (RFC 7643 §5–7)

type AttrOptions = { type?: string; multiValued?: boolean; required?: boolean; caseExact?: boolean; mutability?: string; returned?: string; uniqueness?: string; subAttributes?: Json[]; canonicalValues?: string[]; referenceTypes?: string[] };
const attribute = (name: string, description: string, o: AttrOptions = {}): Json => ({
  name,
  type: o.type ?? 'string',
  multiValued: o.multiValued ?? false,
  description,
  required: o.required ?? false,
  ...(o.type === 'complex' || o.type === 'boolean' ? {} : { caseExact: o.caseExact ?? false }),
  ...(o.canonicalValues ? { canonicalValues: o.canonicalValues } : {}),
  ...(o.referenceTypes ? { referenceTypes: o.referenceTypes } : {}),
  ...(o.subAttributes ? { subAttributes: o.subAttributes } : {}),
  mutability: o.mutability ?? 'readWrite',
  returned: o.returned ?? 'default',
  ...(o.type === 'complex' || o.type === 'boolean' ? {} : { uniqueness: o.uniqueness ?? 'none' }),
});
const multiValue = (what: string, types: string[]) => [
  attribute('value', `The ${what}.`),
  attribute('display', 'A human-readable name.'),
  attribute('type', `The kind of ${what}.`, { canonicalValues: types }),
  attribute('primary', `Whether this is the primary ${what}.`, { type: 'boolean' }),
];

function schemaDefinitions(base: string): Json[] {
  const meta = (id: string) => ({ resourceType: 'Schema', location: `${base}/Schemas/${id}` });
  return [
    {
      schemas: [SCIM_URN.schema],
      id: SCIM_URN.user,
      name: 'User',
      description: 'A person the identity provider provisions; hrsync maps it to an HR profile.',
      attributes: [
        attribute('userName', 'Unique identifier for the user (compared without case).', { required: true, uniqueness: 'server' }),
        attribute('name', 'The components of the user\'s name.', {
          type: 'complex',
          subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => attribute(n, `The ${n} of the name.`)),
        }),
        attribute('displayName', 'The name of the user, suitable for display.'),
        attribute('nickName', 'The casual name of the user.'),
        attribute('title', 'The user\'s title (hrsync: the job title).'),
        attribute('userType', 'The relationship to the organisation (a "contractor" or "temporary" type is kept for people the HRIS does not know).'),
        attribute('preferredLanguage', 'The preferred written or spoken language.'),
        attribute('locale', 'The default location for localisation.'),
        attribute('timezone', 'The time zone, in IANA form.'),
        attribute('active', 'Whether the user is active; false is a termination in hrsync.', { type: 'boolean' }),
        attribute('emails', 'Email addresses; the work one is the HR email.', { type: 'complex', multiValued: true, subAttributes: multiValue('email address', ['work', 'home', 'other']) }),
        attribute('phoneNumbers', 'Phone numbers.', { type: 'complex', multiValued: true, subAttributes: multiValue('phone number', ['work', 'home', 'mobile', 'fax', 'pager', 'other']) }),
        attribute('addresses', 'Physical addresses; the work locality is the site for people the HRIS does not know.', {
          type: 'complex',
          multiValued: true,
          subAttributes: [
            ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country'].map((n) => attribute(n, `The ${n} of the address.`)),
            attribute('type', 'The kind of address.', { canonicalValues: ['work', 'home', 'other'] }),
            attribute('primary', 'Whether this is the primary address.', { type: 'boolean' }),
          ],
        }),
        attribute('groups', 'The groups the user belongs to (read-only; change them through the Group).', {
          type: 'complex',
          multiValued: true,
          mutability: 'readOnly',
          subAttributes: [
            attribute('value', 'The id of the group.', { mutability: 'readOnly' }),
            attribute('$ref', 'The URI of the group.', { type: 'reference', referenceTypes: ['Group'], mutability: 'readOnly' }),
            attribute('display', 'The displayName of the group.', { mutability: 'readOnly' }),
            attribute('type', 'How the membership was obtained.', { canonicalValues: ['direct'], mutability: 'readOnly' }),
          ],
        }),
      ],
      meta: meta(SCIM_URN.user),
    },
    {
      schemas: [SCIM_URN.schema],
      id: SCIM_URN.enterprise,
      name: 'EnterpriseUser',
      description: 'Enterprise user: the employee number is the HR employee id.',
      attributes: [
        attribute('employeeNumber', 'The HR employee id (else externalId is used).'),
        attribute('costCenter', 'The cost center.'),
        attribute('organization', 'The organisation.'),
        attribute('division', 'The division (the site, for people the HRIS does not know and without a work address).'),
        attribute('department', 'The department.'),
        attribute('manager', 'The user\'s manager.', {
          type: 'complex',
          subAttributes: [
            attribute('value', 'The id of the manager\'s SCIM User (or their employee id).'),
            attribute('$ref', 'The URI of the manager\'s SCIM User.', { type: 'reference', referenceTypes: ['User'] }),
            attribute('displayName', 'The manager\'s display name.', { mutability: 'readOnly' }),
          ],
        }),
      ],
      meta: meta(SCIM_URN.enterprise),
    },
    {
      schemas: [SCIM_URN.schema],
      id: SCIM_URN.group,
      name: 'Group',
      description: 'A group; joining it is an access grant in hrsync (the organisation ties training to some).',
      attributes: [
        attribute('displayName', 'The name of the group (unique, compared without case).', { required: true, uniqueness: 'server' }),
        attribute('members', 'The users in the group.', {
          type: 'complex',
          multiValued: true,
          subAttributes: [
            attribute('value', 'The id of the member\'s SCIM User.', { mutability: 'immutable', caseExact: true }),
            attribute('$ref', 'The URI of the member.', { type: 'reference', referenceTypes: ['User'], mutability: 'immutable' }),
            attribute('display', 'The member\'s name.', { mutability: 'readOnly' }),
            attribute('type', 'The kind of member.', { canonicalValues: ['User'], mutability: 'immutable' }),
          ],
        }),
      ],
      meta: meta(SCIM_URN.group),
    },
  ];
}

function resourceTypes(base: string): Json[] {
  return [
    {
      schemas: [SCIM_URN.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User accounts',
      schema: SCIM_URN.user,
      schemaExtensions: [{ schema: SCIM_URN.enterprise, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [SCIM_URN.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Groups',
      schema: SCIM_URN.group,
      schemaExtensions: [],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

const serviceProviderConfig = (base: string) => ({
  schemas: [SCIM_URN.serviceProviderConfig],
  documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: MAX_RESULTS },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: false },
  authenticationSchemes: [
    { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Authorization: Bearer <SCIM_BEARER_TOKEN>', specUri: 'https://www.rfc-editor.org/info/rfc6750', primary: true },
  ],
  meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
});

const listResponse = (resources: Json[], totalResults: number, startIndex: number) => ({
  schemas: [SCIM_URN.list],
  totalResults,
  itemsPerPage: resources.length,
  startIndex,
  Resources: resources,
});

// ---------------------------------------------------------------------------------------------
// Storage

interface UserRow {
  id: string;
  user_name: string;
  external_id: string | null;
  employee_id: string | null;
  active: boolean;
  resource: Json;
  created: Date;
  last_modified: Date;
  version: number;
}

interface GroupRow {
  id: string;
  display_name: string;
  external_id: string | null;
  resource: Json;
  created: Date;
  last_modified: Date;
  version: number;
}

interface Member {
  user_id: string;
  user_name: string;
  display: string | null;
}

const USER_COLUMNS = 'u.id::text AS id, u.user_name, u.external_id, u.employee_id, u.active, u.resource, u.created, u.last_modified, u.version';
const GROUP_COLUMNS = 'g.id::text AS id, g.display_name, g.external_id, g.resource, g.created, g.last_modified, g.version';
const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/** The HR employee id a SCIM user stands for: the enterprise employeeNumber, else externalId. */
function employeeIdOf(resource: Json): string | null {
  const ext = isObject(resource[SCIM_URN.enterprise]) ? (resource[SCIM_URN.enterprise] as Json) : {};
  return str(ext.employeeNumber) ?? str(resource.externalId) ?? null;
}

// ---------------------------------------------------------------------------------------------
// The routes

interface Call {
  req: FastifyRequest;
  raw: string;
  endpoint: string;
  headers: Record<string, unknown>;
  /** https://host/scim/v2 */
  base: string;
  query: Record<string, string | undefined>;
  params: Record<string, string>;
  json(): unknown;
}

interface Result {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

function authorized(header: unknown, token: string): boolean {
  if (typeof header !== 'string') return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const given = createHash('sha256').update(m[1]!.trim()).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected);
}

export function registerScim(app: FastifyInstance, ctx: BridgeContext): void {
  const { pool, logger } = ctx;
  const withLock = keyedLock();
  const today = () => isoDateOf(new Date());

  async function respond(req: FastifyRequest, reply: FastifyReply, handler: (call: Call) => Promise<Result>): Promise<FastifyReply> {
    const raw = typeof req.body === 'string' ? req.body : '';
    const headers = req.headers as Record<string, unknown>;
    const path = req.url.split('?')[0]!;
    const endpoint = `${req.method} ${path}`;
    const fail = async (status: number, detail: string, scimType?: ScimType, deadLetter = true) => {
      if (deadLetter) await ctx.reject(endpoint, SCIM_SOURCE, status, detail, headers, keepableBody(raw), { scimType: scimType ?? null });
      return reply.code(status).header('content-type', MEDIA_TYPE).send(JSON.stringify(scimErrorBody(status, detail, scimType)));
    };

    if (!ctx.secrets.scim) return fail(503, 'SCIM is not configured on this hrsync: set SCIM_BEARER_TOKEN');
    const auth = headers.authorization;
    if (!authorized(auth, ctx.secrets.scim)) {
      return fail(401, auth === undefined ? 'missing Authorization: Bearer <token>' : 'the bearer token is not the one configured for SCIM');
    }

    const query: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) query[k] = Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
    const call: Call = {
      req,
      raw,
      endpoint,
      headers,
      base: `${req.protocol}://${req.host}${BASE}`,
      query,
      params: (req.params ?? {}) as Record<string, string>,
      json() {
        if (!raw.trim()) throw new ScimError(400, 'the request has no body', 'invalidSyntax');
        try {
          return JSON.parse(raw);
        } catch (err) {
          throw new ScimError(400, `the body is not JSON: ${(err as Error).message}`, 'invalidSyntax');
        }
      },
    };
    try {
      const result = await handler(call);
      reply.code(result.status);
      for (const [k, v] of Object.entries(result.headers ?? {})) reply.header(k, v);
      if (result.body === undefined) return reply.send();
      return reply.header('content-type', MEDIA_TYPE).send(JSON.stringify(result.body));
    } catch (err) {
      if (err instanceof ScimError) {
        // A lookup that finds nothing is an answer, not a delivery to keep.
        return fail(err.status, err.message, err.scimType, !(err.status === 404 && req.method === 'GET'));
      }
      logger.error({ endpoint, err: (err as Error).message }, 'SCIM request failed');
      return fail(500, `hrsync could not complete the request: ${(err as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Users: storage and presentation

  async function loadUser(id: string): Promise<UserRow | null> {
    if (!isUuid(id)) return null;
    const res = await pool.query(`SELECT ${USER_COLUMNS} FROM scim_users u WHERE u.id = $1::uuid AND u.deleted_at IS NULL`, [id.toLowerCase()]);
    return (res.rows[0] as UserRow | undefined) ?? null;
  }

  async function requireUser(id: string): Promise<UserRow> {
    const row = await loadUser(id);
    if (!row) throw new ScimError(404, `no User with id "${id}"`);
    return row;
  }

  async function groupsOf(userIds: string[]): Promise<Map<string, { id: string; name: string }[]>> {
    const out = new Map<string, { id: string; name: string }[]>();
    if (!userIds.length) return out;
    const res = await pool.query(
      `SELECT m.user_id::text AS user_id, g.id::text AS id, g.display_name AS name FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id
       WHERE m.user_id = ANY($1::uuid[]) ORDER BY g.display_name`,
      [userIds],
    );
    for (const r of res.rows as { user_id: string; id: string; name: string }[]) out.set(r.user_id, [...(out.get(r.user_id) ?? []), { id: r.id, name: r.name }]);
    return out;
  }

  function userJson(row: UserRow, groups: { id: string; name: string }[], base: string): Json {
    return {
      schemas: [SCIM_URN.user, ...(isObject(row.resource[SCIM_URN.enterprise]) ? [SCIM_URN.enterprise] : [])],
      id: row.id,
      ...row.resource,
      active: row.active,
      groups: groups.map((g) => ({ value: g.id, display: g.name, $ref: `${base}/Groups/${g.id}`, type: 'direct' })),
      meta: { resourceType: 'User', created: row.created.toISOString(), lastModified: row.last_modified.toISOString(), location: `${base}/Users/${row.id}` },
    };
  }

  async function userResponse(row: UserRow, call: Call): Promise<Json> {
    return project(userJson(row, (await groupsOf([row.id])).get(row.id) ?? [], call.base), call.query);
  }

  async function assertUserNameFree(userName: string, exceptId: string | null) {
    const res = await pool.query(`SELECT 1 FROM scim_users WHERE lower(user_name) = lower($1) AND deleted_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)`, [userName, exceptId]);
    if (res.rowCount) throw new ScimError(409, `a User with userName "${userName}" already exists`, 'uniqueness');
  }

  const uniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

  // -------------------------------------------------------------------------------------------
  // What a user means for hrsync

  async function resolveManager(value: string | undefined): Promise<string | undefined> {
    if (!value) return undefined;
    // The manager's SCIM id stands for their employee id; anything else is taken as one.
    if (isUuid(value)) {
      const res = await pool.query(`SELECT employee_id FROM scim_users WHERE id = $1::uuid`, [value.toLowerCase()]);
      const employeeId = res.rows[0]?.employee_id as string | null | undefined;
      if (employeeId) return employeeId;
    }
    return value;
  }

  const employmentTypeOf = (userType: string | undefined): EmploymentType =>
    !userType ? 'employee' : /contract/i.test(userType) ? 'contractor' : /temp|intern|season/i.test(userType) ? 'temporary' : 'employee';

  /** The HR profile a SCIM user stands for, or null (with why) when it does not make one. */
  async function profileOf(resource: Json, employeeId: string, previous: HrProfile | null): Promise<{ profile: HrProfile | null; notes: string[] }> {
    const notes: string[] = [];
    const ext = isObject(resource[SCIM_URN.enterprise]) ? (resource[SCIM_URN.enterprise] as Json) : {};
    let hris: HrProfile | null = null;
    try {
      hris = await ctx.hris.getProfile(employeeId);
    } catch (err) {
      const e = err as { nonRetryable?: boolean; message: string };
      // An HRIS that does not answer is for the identity provider to retry; a record hrsync
      // cannot read is not a reason to turn the identity provider away.
      if (!e.nonRetryable) throw new ScimError(503, `the HRIS did not answer for employee ${employeeId}; retry later (${e.message})`);
      notes.push(`the HRIS record of ${employeeId} cannot be used (${e.message}): the SCIM data stands in`);
    }
    const name = isObject(resource.name) ? resource.name : {};
    const [displayFirst, ...displayRest] = (str(resource.displayName) ?? str(name.formatted) ?? '').split(/\s+/).filter(Boolean);
    const emails = (Array.isArray(resource.emails) ? resource.emails : []).filter(isObject);
    const emailCandidates = [
      emails.find((e) => str(e.type)?.toLowerCase() === 'work')?.value,
      emails.find((e) => e.primary === true)?.value,
      emails[0]?.value,
      resource.userName,
      hris?.email,
    ].map(str);
    const email = emailCandidates.find((e) => e && z.email().safeParse(e).success) ?? emailCandidates.find(Boolean);
    const active = resource.active !== false;
    const manager = isObject(ext.manager) ? str(ext.manager.value) : undefined;
    const base = {
      id: employeeId,
      firstName: str(name.givenName) ?? hris?.firstName ?? displayFirst,
      lastName: str(name.familyName) ?? hris?.lastName ?? (displayRest.join(' ') || undefined),
      email,
      jobTitle: str(resource.title) ?? hris?.jobTitle,
      department: str(ext.department) ?? hris?.department,
      managerId: (await resolveManager(manager)) ?? hris?.managerId ?? null,
      // A deactivation keeps the date it was first seen, so a later update is not a new one.
      terminationDate: active ? null : (previous?.terminationDate ?? today()),
    };
    let candidate: Record<string, unknown>;
    if (hris) {
      candidate = { ...base, jobCode: hris.jobCode, site: hris.site, startDate: hris.startDate, employmentType: hris.employmentType, contract: hris.contract };
    } else {
      const addresses = (Array.isArray(resource.addresses) ? resource.addresses : []).filter(isObject);
      const workLocality = str(addresses.find((a) => str(a.type)?.toLowerCase() === 'work')?.locality);
      const site = workLocality ?? str(ext.division);
      const rehired = !!previous?.terminationDate && active;
      const startDate = previous && !rehired ? previous.startDate : today();
      candidate = { ...base, jobCode: str(resource.title), site, startDate, employmentType: employmentTypeOf(str(resource.userType)) };
      notes.push(
        `${employeeId} is not in the HRIS: job code from the SCIM title (${JSON.stringify(candidate.jobCode ?? null)}), site from ${workLocality ? 'the work address locality' : site ? 'the enterprise division' : 'nowhere'} (${JSON.stringify(site ?? null)}), start date ${startDate}${previous && !rehired ? ' (as first seen)' : ' (today)'}`,
      );
    }
    const parsed = HrProfile.safeParse(candidate);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(profile)'))];
      notes.push(`not enough for an HR profile of ${employeeId} (${fields.join(', ')} missing or invalid): no HR event`);
      return { profile: null, notes };
    }
    return { profile: parsed.data, notes };
  }

  /** Submits one event; an event the HR data makes invalid (a contract ending before it starts) answers why instead. */
  async function submit(event: HrEvent): Promise<string | null> {
    const checked = HrEvent.safeParse(event);
    if (!checked.success) return `event ${event.id} (${event.type}) not submitted: ${describeInvalid(checked.error).message}`;
    try {
      await ctx.submit(checked.data, JSON.stringify(checked.data));
    } catch (err) {
      throw new ScimError(503, `the workflow engine did not take event ${event.id}; retry later (${(err as Error).message})`);
    }
    return null;
  }

  /**
   * The events a new state of a user means: its HR profile against the last one SCIM gave for
   * that person, through changeEvents, each submitted; then the snapshot moves on. Nothing is
   * written if a submission fails, so the retry (same id, same version) gives the same ids.
   */
  async function userEvents(row: Pick<UserRow, 'id' | 'version' | 'resource' | 'employee_id'>, occurredAt: string): Promise<{ eventIds: string[]; notes: string[] }> {
    const employeeId = row.employee_id;
    if (!employeeId) return { eventIds: [], notes: ['no enterprise employeeNumber and no externalId: not linked to an employee, no HR event'] };
    return ctx.onePersonAtATime(employeeId, async () => {
      const previous = await previousProfile(pool, SCIM_SOURCE, employeeId);
      const { profile, notes } = await profileOf(row.resource, employeeId, previous);
      if (!profile) return { eventIds: [], notes };
      const events = changeEvents(previous, profile, { source: SCIM_SOURCE, occurredAt, idPrefix: `scim-${row.id}-${row.version}` });
      if (profile.terminationDate && profile.terminationDate.slice(0, 10) < profile.startDate && !events.some((e) => e.type === 'termination')) {
        notes.push(`deactivated (${profile.terminationDate}) before the start date ${profile.startDate}: changeEvents gives no termination for that`);
      }
      const eventIds: string[] = [];
      for (const event of events) {
        const problem = await submit(event);
        if (problem) notes.push(problem);
        else eventIds.push(event.id);
      }
      // With an event left out, the snapshot stays where it was: the next change tries again.
      if (eventIds.length === events.length) await writeSnapshot(pool, SCIM_SOURCE, profile);
      return { eventIds, notes };
    });
  }

  const keep = (call: Call, eventIds: string[], notes: string[]) =>
    ctx.keep(SCIM_SOURCE, call.endpoint, call.headers, keepableBody(call.raw), eventIds, notes.length ? notes.join('; ') : undefined);

  /** A changed resource of an existing user: events first, then the new state (version + 1). */
  async function changeUser(call: Call, row: UserRow, resource: Json, options: { deleting?: boolean } = {}): Promise<{ row: UserRow; eventIds: string[]; notes: string[] }> {
    const userName = resource.userName as string;
    if (userName.toLowerCase() !== row.user_name.toLowerCase()) await assertUserNameFree(userName, row.id);
    const unchanged = stable(resource) === stable(row.resource) && !options.deleting;
    if (unchanged) return { row, eventIds: [], notes: ['no change'] };
    const now = new Date();
    const next: UserRow = {
      ...row,
      user_name: userName,
      external_id: str(resource.externalId) ?? null,
      employee_id: employeeIdOf(resource),
      active: resource.active !== false,
      resource,
      last_modified: now,
      version: row.version + 1,
    };
    const { eventIds, notes } = await userEvents(next, now.toISOString());
    try {
      const res = await pool.query(
        `UPDATE scim_users SET user_name = $2, external_id = $3, employee_id = $4, active = $5, resource = $6, last_modified = $7, version = $8,
           deleted_at = CASE WHEN $10::boolean THEN now() ELSE deleted_at END
         WHERE id = $1::uuid AND version = $9 AND deleted_at IS NULL`,
        [row.id, next.user_name, next.external_id, next.employee_id, next.active, JSON.stringify(resource), now, next.version, row.version, !!options.deleting],
      );
      if (!res.rowCount) throw new ScimError(409, `User ${row.id} changed while this request was applied; read it again and retry`);
    } catch (err) {
      if (uniqueViolation(err)) throw new ScimError(409, `a User with userName "${userName}" already exists`, 'uniqueness');
      throw err;
    }
    logger.info({ scimUserId: row.id, version: next.version, events: eventIds }, 'SCIM user changed');
    return { row: next, eventIds, notes };
  }

  async function createUser(call: Call): Promise<Result> {
    const resource = normalizeUser(call.json());
    const userName = resource.userName as string;
    return withLock(`user-name:${userName.toLowerCase()}`, async () => {
      await assertUserNameFree(userName, null);
      const now = new Date();
      const row: UserRow = {
        id: randomUUID(),
        user_name: userName,
        external_id: str(resource.externalId) ?? null,
        employee_id: employeeIdOf(resource),
        active: resource.active !== false,
        resource,
        created: now,
        last_modified: now,
        version: 1,
      };
      try {
        await pool.query(
          `INSERT INTO scim_users (id, user_name, external_id, employee_id, active, resource, created, last_modified, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1)`,
          [row.id, row.user_name, row.external_id, row.employee_id, row.active, JSON.stringify(resource), now],
        );
      } catch (err) {
        if (uniqueViolation(err)) throw new ScimError(409, `a User with userName "${userName}" already exists`, 'uniqueness');
        throw err;
      }
      let outcome: { eventIds: string[]; notes: string[] };
      try {
        outcome = await userEvents(row, now.toISOString());
      } catch (err) {
        // Not taken: the identity provider will send the user again.
        await pool.query(`DELETE FROM scim_users WHERE id = $1::uuid`, [row.id]);
        throw err;
      }
      await keep(call, outcome.eventIds, outcome.notes);
      logger.info({ scimUserId: row.id, events: outcome.eventIds }, 'SCIM user created');
      const body = userJson(row, [], call.base);
      return { status: 201, body: project(body, call.query), headers: { location: (body.meta as Json).location as string } };
    });
  }

  async function replaceUser(call: Call): Promise<Result> {
    const resource = normalizeUser(call.json());
    return withLock(`user:${call.params.id!.toLowerCase()}`, async () => {
      const row = await requireUser(call.params.id!);
      const changed = await changeUser(call, row, resource);
      await keep(call, changed.eventIds, changed.notes);
      return { status: 200, body: await userResponse(changed.row, call) };
    });
  }

  async function patchUser(call: Call): Promise<Result> {
    const ops = parsePatch(call.json());
    return withLock(`user:${call.params.id!.toLowerCase()}`, async () => {
      const row = await requireUser(call.params.id!);
      const patched = applyPatch({ ...row.resource, active: row.active }, ops, 'User', row.id);
      const resource = normalizeUser(patched);
      const changed = await changeUser(call, row, resource);
      await keep(call, changed.eventIds, changed.notes);
      return { status: 200, body: await userResponse(changed.row, call) };
    });
  }

  /** Okta never deletes; Entra may. A deleted user is a deactivated one (a termination) that answers 404 from then on. */
  async function deleteUser(call: Call): Promise<Result> {
    return withLock(`user:${call.params.id!.toLowerCase()}`, async () => {
      const row = await requireUser(call.params.id!);
      const changed = await changeUser(call, row, { ...row.resource, active: false }, { deleting: true });
      const left = await pool.query(
        `DELETE FROM scim_group_members m USING scim_groups g WHERE m.group_id = g.id AND m.user_id = $1::uuid RETURNING g.display_name`,
        [row.id],
      );
      const groups = (left.rows as { display_name: string }[]).map((r) => r.display_name);
      const notes = [...changed.notes.filter((n) => n !== 'no change'), 'deleted: treated as a deactivation'];
      if (groups.length) notes.push(`left ${groups.map((g) => `"${g}"`).join(', ')} (recorded only: hrsync has no revoke event)`);
      await keep(call, changed.eventIds, notes);
      return { status: 204 };
    });
  }

  async function listUsers(call: Call): Promise<Result> {
    const { startIndex, count } = paging(call.query);
    const params: unknown[] = [];
    const where = ['u.deleted_at IS NULL', ...(call.query.filter?.trim() ? filterSql(call.query.filter, 'User', params) : [])].join(' AND ');
    const total = await pool.query(`SELECT count(*)::int AS n FROM scim_users u WHERE ${where}`, params);
    const rows = count
      ? ((await pool.query(`SELECT ${USER_COLUMNS} FROM scim_users u WHERE ${where} ORDER BY u.created, u.id OFFSET ${startIndex - 1} LIMIT ${count}`, params)).rows as UserRow[])
      : [];
    const groups = await groupsOf(rows.map((r) => r.id));
    return { status: 200, body: listResponse(rows.map((r) => project(userJson(r, groups.get(r.id) ?? [], call.base), call.query)), Number(total.rows[0].n), startIndex) };
  }

  // -------------------------------------------------------------------------------------------
  // Groups

  async function loadGroup(id: string): Promise<GroupRow | null> {
    if (!isUuid(id)) return null;
    const res = await pool.query(`SELECT ${GROUP_COLUMNS} FROM scim_groups g WHERE g.id = $1::uuid`, [id.toLowerCase()]);
    return (res.rows[0] as GroupRow | undefined) ?? null;
  }

  async function requireGroup(id: string): Promise<GroupRow> {
    const row = await loadGroup(id);
    if (!row) throw new ScimError(404, `no Group with id "${id}"`);
    return row;
  }

  async function membersOf(groupIds: string[]): Promise<Map<string, Member[]>> {
    const out = new Map<string, Member[]>();
    if (!groupIds.length) return out;
    const res = await pool.query(
      `SELECT m.group_id::text AS group_id, m.user_id::text AS user_id, u.user_name, u.resource ->> 'displayName' AS display
       FROM scim_group_members m JOIN scim_users u ON u.id = m.user_id
       WHERE m.group_id = ANY($1::uuid[]) AND u.deleted_at IS NULL ORDER BY m.added_at, u.user_name`,
      [groupIds],
    );
    for (const r of res.rows as (Member & { group_id: string })[]) out.set(r.group_id, [...(out.get(r.group_id) ?? []), { user_id: r.user_id, user_name: r.user_name, display: r.display }]);
    return out;
  }

  function groupJson(row: GroupRow, members: Member[], base: string): Json {
    return {
      schemas: [SCIM_URN.group],
      id: row.id,
      ...row.resource,
      members: members.map((m) => ({ value: m.user_id, display: m.display ?? m.user_name, $ref: `${base}/Users/${m.user_id}`, type: 'User' })),
      meta: { resourceType: 'Group', created: row.created.toISOString(), lastModified: row.last_modified.toISOString(), location: `${base}/Groups/${row.id}` },
    };
  }

  async function groupResponse(row: GroupRow, call: Call): Promise<Json> {
    return project(groupJson(row, (await membersOf([row.id])).get(row.id) ?? [], call.base), call.query);
  }

  async function assertDisplayNameFree(displayName: string, exceptId: string | null) {
    const res = await pool.query(`SELECT 1 FROM scim_groups WHERE lower(display_name) = lower($1) AND ($2::uuid IS NULL OR id <> $2::uuid)`, [displayName, exceptId]);
    if (res.rowCount) throw new ScimError(409, `a Group with displayName "${displayName}" already exists`, 'uniqueness');
  }

  async function assertUsersExist(ids: string[]) {
    const bad = ids.filter((id) => !isUuid(id));
    if (!bad.length && ids.length) {
      const res = await pool.query(`SELECT id::text AS id FROM scim_users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`, [ids]);
      const found = new Set((res.rows as { id: string }[]).map((r) => r.id));
      bad.push(...ids.filter((id) => !found.has(id)));
    }
    if (bad.length) throw new ScimError(400, `members: no User with id ${bad.map((b) => `"${b}"`).join(', ')}`, 'invalidValue');
  }

  /**
   * An access grant per member who joined: the group's displayName is the access group. The
   * event id comes from the group, the user and the name, so the same add again is a redelivery;
   * a renamed group grants its new name.
   */
  async function grantEvents(groupId: string, displayName: string, userIds: string[], occurredAt: string): Promise<{ eventIds: string[]; notes: string[] }> {
    const eventIds: string[] = [];
    const notes: string[] = [];
    if (!userIds.length) return { eventIds, notes };
    const res = await pool.query(`SELECT id::text AS id, user_name, employee_id, active FROM scim_users WHERE id = ANY($1::uuid[])`, [userIds]);
    const users = new Map((res.rows as { id: string; user_name: string; employee_id: string | null; active: boolean }[]).map((u) => [u.id, u]));
    const nameKey = createHash('sha256').update(displayName).digest('hex').slice(0, 8);
    for (const userId of userIds) {
      const user = users.get(userId);
      if (!user?.employee_id) {
        notes.push(`${user?.user_name ?? userId} joined "${displayName}" but is not linked to an employee: no access grant`);
        continue;
      }
      if (!user.active) {
        notes.push(`${user.employee_id} joined "${displayName}" while inactive: no access grant`);
        continue;
      }
      const profile = await readSnapshot(pool, SCIM_SOURCE, user.employee_id);
      const employee = profile && !profile.terminationDate ? EmployeeProfile.safeParse(profile) : null;
      if (!employee?.success) {
        notes.push(`${user.employee_id} joined "${displayName}" but SCIM has no current HR profile of them: no access grant`);
        continue;
      }
      const event: HrEvent = {
        id: `scim-grant-${groupId}-${userId}-${nameKey}`,
        type: 'access_grant',
        source: SCIM_SOURCE,
        occurredAt,
        effectiveDate: occurredAt.slice(0, 10),
        employee: employee.data,
        access: { group: displayName },
      };
      const problem = await submit(event);
      if (problem) notes.push(problem);
      else eventIds.push(event.id);
    }
    return { eventIds, notes };
  }

  async function leftNotes(displayName: string, userIds: string[]): Promise<string[]> {
    if (!userIds.length) return [];
    const res = await pool.query(`SELECT user_name, employee_id FROM scim_users WHERE id = ANY($1::uuid[])`, [userIds]);
    const who = (res.rows as { user_name: string; employee_id: string | null }[]).map((u) => u.employee_id ?? u.user_name);
    return [`left "${displayName}": ${who.join(', ')} (recorded only: hrsync has no revoke event)`];
  }

  async function createGroup(call: Call): Promise<Result> {
    const { resource, members } = normalizeGroup(call.json());
    const displayName = resource.displayName as string;
    return withLock(`group-name:${displayName.toLowerCase()}`, async () => {
      await assertDisplayNameFree(displayName, null);
      await assertUsersExist(members);
      const now = new Date();
      const row: GroupRow = { id: randomUUID(), display_name: displayName, external_id: str(resource.externalId) ?? null, resource, created: now, last_modified: now, version: 1 };
      try {
        await pool.query(`INSERT INTO scim_groups (id, display_name, external_id, resource, created, last_modified, version) VALUES ($1, $2, $3, $4, $5, $5, 1)`, [
          row.id, displayName, row.external_id, JSON.stringify(resource), now,
        ]);
      } catch (err) {
        if (uniqueViolation(err)) throw new ScimError(409, `a Group with displayName "${displayName}" already exists`, 'uniqueness');
        throw err;
      }
      let outcome: { eventIds: string[]; notes: string[] };
      try {
        if (members.length) await pool.query(`INSERT INTO scim_group_members (group_id, user_id) SELECT $1::uuid, unnest($2::uuid[]) ON CONFLICT DO NOTHING`, [row.id, members]);
        outcome = await grantEvents(row.id, displayName, members, now.toISOString());
      } catch (err) {
        await pool.query(`DELETE FROM scim_groups WHERE id = $1::uuid`, [row.id]);
        throw err;
      }
      await keep(call, outcome.eventIds, outcome.notes);
      const body = await groupResponse(row, call);
      return { status: 201, body, headers: { location: `${call.base}/Groups/${row.id}` } };
    });
  }

  /** A new state of a group: grants first (a failure writes nothing), then the group and its members. */
  async function changeGroup(call: Call, row: GroupRow, next: { resource: Json; members: string[] }, named: string[]): Promise<Result> {
    const displayName = next.resource.displayName as string;
    const renamed = displayName !== row.display_name;
    if (displayName.toLowerCase() !== row.display_name.toLowerCase()) await assertDisplayNameFree(displayName, row.id);
    await assertUsersExist(next.members);
    const before = ((await membersOf([row.id])).get(row.id) ?? []).map((m) => m.user_id);
    const added = next.members.filter((m) => !before.includes(m));
    const removed = before.filter((m) => !next.members.includes(m));
    const grantTo = renamed ? next.members : next.members.filter((m) => added.includes(m) || named.includes(m));
    const changed = renamed || stable(next.resource) !== stable(row.resource) || added.length > 0 || removed.length > 0;
    const now = new Date();
    const { eventIds, notes } = await grantEvents(row.id, displayName, [...new Set(grantTo)], now.toISOString());
    notes.push(...(await leftNotes(row.display_name, removed)));
    let current = row;
    if (changed) {
      current = { ...row, display_name: displayName, external_id: str(next.resource.externalId) ?? null, resource: next.resource, last_modified: now, version: row.version + 1 };
      try {
        await pool.query(`UPDATE scim_groups SET display_name = $2, external_id = $3, resource = $4, last_modified = $5, version = $6 WHERE id = $1::uuid`, [
          row.id, displayName, current.external_id, JSON.stringify(next.resource), now, current.version,
        ]);
      } catch (err) {
        if (uniqueViolation(err)) throw new ScimError(409, `a Group with displayName "${displayName}" already exists`, 'uniqueness');
        throw err;
      }
      if (added.length) await pool.query(`INSERT INTO scim_group_members (group_id, user_id) SELECT $1::uuid, unnest($2::uuid[]) ON CONFLICT DO NOTHING`, [row.id, added]);
      if (removed.length) await pool.query(`DELETE FROM scim_group_members WHERE group_id = $1::uuid AND user_id = ANY($2::uuid[])`, [row.id, removed]);
    } else if (!eventIds.length) {
      notes.push('no change');
    }
    await keep(call, eventIds, notes);
    logger.info({ scimGroupId: row.id, added: added.length, removed: removed.length, events: eventIds }, 'SCIM group changed');
    return { status: 200, body: await groupResponse(current, call) };
  }

  async function replaceGroup(call: Call): Promise<Result> {
    const next = normalizeGroup(call.json());
    return withLock(`group:${call.params.id!.toLowerCase()}`, async () => {
      const row = await requireGroup(call.params.id!);
      return changeGroup(call, row, next, next.members);
    });
  }

  async function patchGroup(call: Call): Promise<Result> {
    const ops = parsePatch(call.json());
    return withLock(`group:${call.params.id!.toLowerCase()}`, async () => {
      const row = await requireGroup(call.params.id!);
      const members = ((await membersOf([row.id])).get(row.id) ?? []).map((m) => ({ value: m.user_id }));
      const patched = applyPatch({ ...row.resource, members }, ops, 'Group', row.id);
      return changeGroup(call, row, normalizeGroup(patched), membersNamed(ops));
    });
  }

  async function deleteGroup(call: Call): Promise<Result> {
    return withLock(`group:${call.params.id!.toLowerCase()}`, async () => {
      const row = await requireGroup(call.params.id!);
      const members = ((await membersOf([row.id])).get(row.id) ?? []).map((m) => m.user_id);
      const notes = await leftNotes(row.display_name, members);
      await pool.query(`DELETE FROM scim_groups WHERE id = $1::uuid`, [row.id]);
      await keep(call, [], [`group "${row.display_name}" deleted`, ...notes]);
      return { status: 204 };
    });
  }

  async function listGroups(call: Call): Promise<Result> {
    const { startIndex, count } = paging(call.query);
    const params: unknown[] = [];
    const where = ['TRUE', ...(call.query.filter?.trim() ? filterSql(call.query.filter, 'Group', params) : [])].join(' AND ');
    const total = await pool.query(`SELECT count(*)::int AS n FROM scim_groups g WHERE ${where}`, params);
    const rows = count
      ? ((await pool.query(`SELECT ${GROUP_COLUMNS} FROM scim_groups g WHERE ${where} ORDER BY g.created, g.id OFFSET ${startIndex - 1} LIMIT ${count}`, params)).rows as GroupRow[])
      : [];
    const wantsMembers = !/(^|,)\s*members\s*(,|$)/i.test(call.query.excludedAttributes ?? '');
    const members = wantsMembers ? await membersOf(rows.map((r) => r.id)) : new Map<string, Member[]>();
    return { status: 200, body: listResponse(rows.map((r) => project(groupJson(r, members.get(r.id) ?? [], call.base), call.query)), Number(total.rows[0].n), startIndex) };
  }

  // -------------------------------------------------------------------------------------------

  app.register(
    async (scim) => {
      const on = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, handler: (call: Call) => Promise<Result>) =>
        scim.route({ method, url, handler: (req, reply) => respond(req, reply, handler) });

      on('GET', '/ServiceProviderConfig', async (call) => ({ status: 200, body: serviceProviderConfig(call.base) }));
      on('GET', '/ResourceTypes', async (call) => {
        const types = resourceTypes(call.base);
        return { status: 200, body: listResponse(types, types.length, 1) };
      });
      on('GET', '/ResourceTypes/:id', async (call) => {
        const type = resourceTypes(call.base).find((t) => t.id === call.params.id);
        if (!type) throw new ScimError(404, `no ResourceType "${call.params.id}"`);
        return { status: 200, body: type };
      });
      on('GET', '/Schemas', async (call) => {
        const schemas = schemaDefinitions(call.base);
        return { status: 200, body: listResponse(schemas, schemas.length, 1) };
      });
      on('GET', '/Schemas/:id', async (call) => {
        const schema = schemaDefinitions(call.base).find((s) => (s.id as string).toLowerCase() === call.params.id!.toLowerCase());
        if (!schema) throw new ScimError(404, `no Schema "${call.params.id}"`);
        return { status: 200, body: schema };
      });

      on('GET', '/Users', listUsers);
      on('POST', '/Users', createUser);
      on('GET', '/Users/:id', async (call) => ({ status: 200, body: await userResponse(await requireUser(call.params.id!), call) }));
      on('PUT', '/Users/:id', replaceUser);
      on('PATCH', '/Users/:id', patchUser);
      on('DELETE', '/Users/:id', deleteUser);

      on('GET', '/Groups', listGroups);
      on('POST', '/Groups', createGroup);
      on('GET', '/Groups/:id', async (call) => ({ status: 200, body: await groupResponse(await requireGroup(call.params.id!), call) }));
      on('PUT', '/Groups/:id', replaceGroup);
      on('PATCH', '/Groups/:id', patchGroup);
      on('DELETE', '/Groups/:id', deleteGroup);

      scim.setNotFoundHandler((req, reply) =>
        respond(req, reply, async () => {
          throw new ScimError(404, `no SCIM endpoint ${req.method} ${req.url.split('?')[0]} (bulk, /Me and .search are not supported)`);
        }),
      );
    },
    { prefix: BASE },
  );
}
