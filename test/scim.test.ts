import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { bambooHr } from '../activities/hris';
import { createBridge } from '../client/bridge';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile, HrEvent } from '../domain/hr-event';
import { bambooRecord, employeeProfile, SAMPLE_HIRES } from '../simulators/roster';
import { eventually, startTestStack, type TestStack } from './support/stack';

// The SCIM 2.0 service provider (SPEC §4, §9) against the real stack: the request sequences
// Okta and Entra send, replayed over HTTP, down to what reaches the LMS.

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

const today = () => isoDateOf(new Date());

/** A person of the sample roster, starting today, known to the HRIS unless told otherwise. */
function person(index: number, prefix: string, inHris = true): EmployeeProfile {
  const profile = employeeProfile(index, SAMPLE_HIRES[index]!, today(), prefix);
  if (inHris) stack.hris.upsertEmployee(bambooRecord(profile));
  return profile;
}

type Answer = { status: number; contentType: string | null; location: string | null; body: any };

async function scim(method: string, path: string, body?: unknown, opts: { token?: string | null; contentType?: string; raw?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/scim+json' };
  const token = opts.token === undefined ? stack.config.surfaces.scimToken! : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/scim+json';
  const res = await fetch(`${stack.bridge.url}/scim/v2${path}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), location: res.headers.get('location'), body: text ? JSON.parse(text) : undefined };
}

const filter = (expression: string) => `filter=${encodeURIComponent(expression)}`;
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

/** A user as Okta's SCIM 2.0 app integration creates it (Okta sends the password when password push is on). */
function oktaUser(p: EmployeeProfile) {
  return {
    schemas: [USER, ENTERPRISE],
    userName: p.email,
    name: { givenName: p.firstName, familyName: p.lastName },
    emails: [{ primary: true, value: p.email, type: 'work' }],
    displayName: `${p.firstName} ${p.lastName}`,
    locale: 'en-US',
    externalId: `00u${p.id.toLowerCase()}x1okta`,
    groups: [],
    password: 'Okta-Pushed-Secret-1!',
    active: true,
    title: p.jobTitle,
    [ENTERPRISE]: { employeeNumber: p.id, department: p.department },
  };
}

/** A user as Microsoft Entra provisioning creates it. */
function entraUser(p: EmployeeProfile, extra: Record<string, unknown> = {}) {
  return {
    schemas: [USER, ENTERPRISE],
    externalId: `${p.firstName.toLowerCase()}${p.id}`,
    userName: p.email,
    active: true,
    displayName: `${p.firstName} ${p.lastName}`,
    emails: [{ primary: true, type: 'work', value: p.email }],
    meta: { resourceType: 'User' },
    name: { formatted: `${p.firstName} ${p.lastName}`, familyName: p.lastName, givenName: p.firstName },
    title: p.jobTitle,
    [ENTERPRISE]: { employeeNumber: p.id, department: p.department },
    ...extra,
  };
}

async function createUser(body: Record<string, unknown>): Promise<string> {
  const created = await scim('POST', '/Users', body);
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function hrEvents(employeeId: string) {
  const res = await stack.pool.query(`SELECT event_id, type, deliveries, payload FROM hr_events WHERE employee_id = $1 ORDER BY received_at, event_id`, [employeeId]);
  return res.rows as { event_id: string; type: string; deliveries: number; payload: HrEvent }[];
}

async function keptDeliveries(endpointFragment: string) {
  const res = await stack.pool.query(`SELECT endpoint, raw_body, event_ids, note FROM raw_deliveries WHERE source = 'scim' AND endpoint LIKE $1 ORDER BY id`, [`%${endpointFragment}%`]);
  return res.rows as { endpoint: string; raw_body: string; event_ids: string[]; note: string | null }[];
}

async function deadLetters(fragment: string) {
  const res = await stack.pool.query(`SELECT endpoint, status, reason, detail, raw_body FROM dead_letters WHERE source = 'scim' AND (raw_body LIKE $1 OR endpoint LIKE $1) ORDER BY id`, [`%${fragment}%`]);
  return res.rows as { endpoint: string; status: number; reason: string; detail: Record<string, unknown>; raw_body: string }[];
}

async function workflowsOf(type: string, employeeId: string) {
  const runs = [];
  for await (const wf of stack.client.workflow.list({ query: `WorkflowType = "${type}" AND EmployeeId = "${employeeId}"` })) runs.push(wf.workflowId);
  return runs;
}

const enrolled = (employeeId: string) => Object.fromEntries(stack.learnersFor(employeeId)[0]!.enrollments.map((e) => [e.course_code, e.status]));

describe('SCIM as Okta sends it', () => {
  it('lookup, create, duplicate, read, replace, path-less deactivation: a hire, a role change and a termination reach the LMS', async () => {
    const p = person(0, 'KO'); // Chemical Process Operator I at Baytown
    const lookup = await scim('GET', `/Users?${filter(`userName eq "${p.email}"`)}&startIndex=1&count=100`);
    expect(lookup.status).toBe(200);
    expect(lookup.contentType).toMatch(/^application\/scim\+json/);
    expect(lookup.body).toEqual({ schemas: [LIST], totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });

    const created = await scim('POST', '/Users', oktaUser(p));
    expect(created.status).toBe(201);
    expect(created.contentType).toMatch(/^application\/scim\+json/);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({
      schemas: [USER, ENTERPRISE],
      userName: p.email,
      externalId: oktaUser(p).externalId,
      active: true,
      name: { givenName: p.firstName, familyName: p.lastName },
      emails: [{ primary: true, value: p.email, type: 'work' }],
      title: p.jobTitle,
      groups: [],
      [ENTERPRISE]: { employeeNumber: p.id, department: p.department },
      meta: { resourceType: 'User', location: `${stack.bridge.url}/scim/v2/Users/${id}` },
    });
    expect(created.body.password).toBeUndefined();
    expect(created.location).toBe(created.body.meta.location);

    // The hire, through the canonical event, with the HRIS's job code.
    const hireId = `scim-${id}-1-hire`;
    await stack.resultOf(`onboarding-${p.id}-${hireId}`);
    expect(stack.learnersFor(p.id)).toHaveLength(1);
    const [hire] = await hrEvents(p.id);
    expect(hire).toMatchObject({ event_id: hireId, type: 'hire' });
    expect(hire!.payload.employee).toMatchObject({ id: p.id, jobCode: 'CHM-OP1', site: 'BAY', email: p.email, startDate: today() });
    const [kept] = await keptDeliveries(`POST /scim/v2/Users`).then((rows) => rows.filter((r) => r.event_ids.includes(hireId)));
    expect(kept!.raw_body).not.toContain('Okta-Pushed-Secret-1!');
    expect(JSON.parse(kept!.raw_body).userName).toBe(p.email);

    const again = await scim('POST', '/Users', oktaUser(p));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    expect(again.body.detail).toContain(p.email);

    const read = await scim('GET', `/Users/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    const found = await scim('GET', `/Users?${filter(`userName eq "${p.email.toUpperCase()}"`)}&startIndex=1&count=100`);
    expect(found.body).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1 });
    expect(found.body.Resources[0].id).toBe(id);

    // Okta updates with PUT: the whole resource, here a new title and department.
    const replaced = await scim('PUT', `/Users/${id}`, { ...oktaUser(p), id, title: 'Senior Chemical Operator', [ENTERPRISE]: { employeeNumber: p.id, department: 'MNT' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id, title: 'Senior Chemical Operator', [ENTERPRISE]: { department: 'MNT' } });
    expect(replaced.body.meta.lastModified >= created.body.meta.lastModified).toBe(true);
    const roleChangeId = `scim-${id}-2-role_change`;
    await stack.resultOf(`roleChange-${p.id}-${roleChangeId}`);
    expect((await hrEvents(p.id)).find((e) => e.event_id === roleChangeId)!.payload.employee).toMatchObject({ jobTitle: 'Senior Chemical Operator', department: 'MNT', jobCode: 'CHM-OP1' });

    // Okta deactivates with a path-less replace.
    const deactivated = await scim('PATCH', `/Users/${id}`, patch({ op: 'replace', value: { active: false } }));
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.active).toBe(false);
    const terminationId = `scim-${id}-3-termination`;
    await eventually(() => stack.learnersFor(p.id)[0]?.status === '0', `the LMS account of ${p.id} to be deactivated`);
    const termination = (await hrEvents(p.id)).find((e) => e.event_id === terminationId)!;
    expect(termination.payload.termination).toEqual({ date: today(), reasonCode: 'HRIS_TERMINATION' });
    // The account closes a moment before the workflow writes its audit rows.
    await stack.resultOf(`offboarding-${p.id}-${terminationId}`);
    const audit = await stack.auditRows(p.id);
    expect(audit.filter((r) => r.kind === 'delivery' && r.event_id === terminationId).map((r) => r.result)).toEqual(['accepted']);
    expect(audit.some((r) => r.kind === 'outcome' && r.event_id === terminationId)).toBe(true);
    expect((await keptDeliveries(`PATCH /scim/v2/Users/${id}`)).map((k) => k.event_ids)).toEqual([[terminationId]]);
  });
});

describe('SCIM as Entra sends it', () => {
  it('capitalised ops, pathed replaces (name, work email, enterprise attributes), "False" as a string; a repeated PATCH starts nothing', async () => {
    const p = person(3, 'EN'); // Process Technician at Baytown
    const lookup = await scim('GET', `/Users?filter=userName+eq+%22${encodeURIComponent(p.email)}%22`);
    expect(lookup.body).toMatchObject({ totalResults: 0, Resources: [] });
    const created = await scim('POST', '/Users', entraUser(p), { contentType: 'application/json' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await stack.resultOf(`onboarding-${p.id}-scim-${id}-1-hire`);

    const manager = person(1, 'EN'); // Process Supervisor: pushed too, so the manager is a SCIM id
    const managerId = await createUser(entraUser(manager));
    const updated = await scim(
      'PATCH',
      `/Users/${id}`,
      patch(
        { op: 'Replace', path: 'name.givenName', value: 'Danielle' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: `danielle.${p.id.toLowerCase()}@example.com` },
        { op: 'Add', path: `${ENTERPRISE}:department`, value: 'MNT' },
        { op: 'Add', path: `${ENTERPRISE}:manager`, value: managerId },
        { op: 'Replace', path: 'title', value: 'Senior Process Technician' },
      ),
      { contentType: 'application/json' },
    );
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      name: { givenName: 'Danielle', familyName: p.lastName },
      emails: [{ primary: true, type: 'work', value: `danielle.${p.id.toLowerCase()}@example.com` }],
      title: 'Senior Process Technician',
      [ENTERPRISE]: { employeeNumber: p.id, department: 'MNT', manager: { value: managerId } },
    });
    const roleChangeId = `scim-${id}-2-role_change`;
    const roleChange = (await hrEvents(p.id)).find((e) => e.event_id === roleChangeId);
    // The manager's SCIM id stands for their employee id.
    expect(roleChange!.payload.employee).toMatchObject({ firstName: 'Danielle', department: 'MNT', managerId: manager.id, jobCode: 'PRC-TEC' });
    await stack.resultOf(`roleChange-${p.id}-${roleChangeId}`);

    const deactivate = patch({ op: 'Replace', path: 'active', value: 'False' });
    const deactivated = await scim('PATCH', `/Users/${id}`, deactivate, { contentType: 'application/json' });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.active).toBe(false);
    await stack.resultOf(`offboarding-${p.id}-scim-${id}-3-termination`);
    expect(stack.learnersFor(p.id)[0]!.status).toBe('0');

    const repeated = await scim('PATCH', `/Users/${id}`, deactivate, { contentType: 'application/json' });
    expect(repeated.status).toBe(200);
    expect(repeated.body).toEqual(deactivated.body); // no new version either
    await new Promise((r) => setTimeout(r, 1000));
    expect((await hrEvents(p.id)).map((e) => e.type)).toEqual(['hire', 'role_change', 'termination']);
    expect(await workflowsOf('offboarding', p.id)).toHaveLength(1);
    const kept = await keptDeliveries(`PATCH /scim/v2/Users/${id}`);
    expect(kept.map((k) => k.event_ids)).toEqual([[roleChangeId], [`scim-${id}-3-termination`], []]);
    expect(kept[2]!.note).toBe('no change');
  });

  it('DELETE is a deactivation; the id then answers 404 and the userName can come back (a rehire); a person the HRIS does not know is taken from SCIM', async () => {
    const p = person(4, 'ED', false); // a Forklift Operator at Dayton, unknown to the HRIS
    const body = entraUser(p, { addresses: [{ type: 'work', locality: 'DAY', country: 'US' }], [ENTERPRISE]: { employeeNumber: p.id, department: 'LOG' } });
    const id = await createUser(body);
    const [hire] = await hrEvents(p.id);
    expect(hire).toMatchObject({ event_id: `scim-${id}-1-hire`, type: 'hire' });
    expect(hire!.payload.employee).toMatchObject({ id: p.id, jobCode: 'Forklift Operator', jobTitle: 'Forklift Operator', site: 'DAY', department: 'LOG', startDate: today(), employmentType: 'employee' });
    const [kept] = await keptDeliveries('POST /scim/v2/Users').then((rows) => rows.filter((r) => r.event_ids.includes(`scim-${id}-1-hire`)));
    expect(kept!.note).toMatch(/not in the HRIS: job code from the SCIM title \("Forklift Operator"\), site from the work address locality \("DAY"\), start date/);

    const deleted = await scim('DELETE', `/Users/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    const gone = await scim('GET', `/Users/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ schemas: [ERROR], status: '404' });
    expect((await scim('GET', `/Users?${filter(`userName eq "${p.email}"`)}`)).body.totalResults).toBe(0);
    expect((await hrEvents(p.id)).map((e) => [e.event_id, e.type])).toEqual([
      [`scim-${id}-1-hire`, 'hire'],
      [`scim-${id}-2-termination`, 'termination'],
    ]);
    expect((await scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'active', value: true }))).status).toBe(404);

    const back = await createUser(body);
    expect(back).not.toBe(id);
    expect((await hrEvents(p.id)).map((e) => e.event_id)).toContain(`scim-${back}-1-hire`);
  });
});

describe('SCIM groups', () => {
  it('a group push with members, an added member (an access grant: MOC-201 enrolled), a repeated add (a redelivery), a removal, a rename, a lookup, a delete', async () => {
    const first = person(3, 'GA'); // Process Technician at Baytown
    const second = person(0, 'GB'); // Chemical Process Operator I at Baytown
    const firstId = await createUser(oktaUser(first));
    const secondId = await createUser(oktaUser(second));
    await stack.resultOf(`onboarding-${first.id}-scim-${firstId}-1-hire`);
    await stack.resultOf(`onboarding-${second.id}-scim-${secondId}-1-hire`);

    const name = 'DCS Engineering Workstation';
    const created = await scim('POST', '/Groups', { schemas: [GROUP], displayName: name, members: [{ value: firstId, display: first.email }] });
    expect(created.status).toBe(201);
    const groupId = created.body.id as string;
    expect(created.body).toMatchObject({ schemas: [GROUP], displayName: name, members: [{ value: firstId, type: 'User' }], meta: { resourceType: 'Group', location: `${stack.bridge.url}/scim/v2/Groups/${groupId}` } });
    const [firstGrant] = (await hrEvents(first.id)).filter((e) => e.type === 'access_grant');
    expect(firstGrant!.payload.access).toEqual({ group: name });
    await stack.resultOf(`accessGrant-${first.id}-${firstGrant!.event_id}`);
    expect(stack.learnersFor(first.id)[0]!.groups).toContain('idp-dcs-engineering');
    expect(enrolled(first.id)['MOC-201']).toBe('subscribed');

    const duplicate = await scim('POST', '/Groups', { schemas: [GROUP], displayName: name.toUpperCase(), members: [] });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });

    const add = patch({ op: 'add', path: 'members', value: [{ value: secondId, display: second.email }] });
    const added = await scim('PATCH', `/Groups/${groupId}`, add);
    expect(added.status).toBe(200);
    expect(added.body.members.map((m: { value: string }) => m.value).sort()).toEqual([firstId, secondId].sort());
    const [grant] = (await hrEvents(second.id)).filter((e) => e.type === 'access_grant');
    expect(grant!.event_id).toMatch(new RegExp(`^scim-grant-${groupId}-${secondId}-`));
    await stack.resultOf(`accessGrant-${second.id}-${grant!.event_id}`);
    expect(enrolled(second.id)['MOC-201']).toBe('subscribed');
    const grants = await stack.pool.query('SELECT group_name FROM access_grants WHERE employee_id = $1', [second.id]);
    expect(grants.rows).toEqual([{ group_name: name }]);

    // The same PATCH again: the same event id, so a redelivery that starts nothing.
    expect((await scim('PATCH', `/Groups/${groupId}`, add)).status).toBe(200);
    expect((await hrEvents(second.id)).filter((e) => e.type === 'access_grant')).toEqual([{ ...grant!, deliveries: 2 }]);
    const deliveries = (await stack.auditRows(second.id)).filter((r) => r.kind === 'delivery' && r.event_id === grant!.event_id);
    expect(deliveries.map((r) => r.result)).toEqual(['accepted', 'redelivery']);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await workflowsOf('accessGrant', second.id)).toHaveLength(1);

    const removed = await scim('PATCH', `/Groups/${groupId}`, patch({ op: 'remove', path: `members[value eq "${secondId}"]` }));
    expect(removed.status).toBe(200);
    expect(removed.body.members.map((m: { value: string }) => m.value)).toEqual([firstId]);
    const removal = (await keptDeliveries(`PATCH /scim/v2/Groups/${groupId}`)).at(-1)!;
    expect(removal.event_ids).toEqual([]);
    expect(removal.note).toContain(`left "${name}": ${second.id} (recorded only: hrsync has no revoke event)`);
    expect((await scim('GET', `/Users/${secondId}`)).body.groups).toEqual([]);
    expect((await scim('GET', `/Users/${firstId}`)).body.groups).toEqual([{ value: groupId, display: name, $ref: `${stack.bridge.url}/scim/v2/Groups/${groupId}`, type: 'direct' }]);

    const lookup = await scim('GET', `/Groups?${filter(`displayName eq "${name.toLowerCase()}"`)}&excludedAttributes=members`);
    expect(lookup.status).toBe(200);
    expect(lookup.body).toMatchObject({ schemas: [LIST], totalResults: 1, itemsPerPage: 1, startIndex: 1 });
    expect(lookup.body.Resources[0]).toMatchObject({ id: groupId, displayName: name });
    expect(lookup.body.Resources[0].members).toBeUndefined();
    const byMember = await scim('GET', `/Groups?${filter(`members[value eq "${firstId}"]`)}`);
    expect(byMember.body.Resources.map((g: { id: string }) => g.id)).toEqual([groupId]);

    // Okta renames with a path-less replace that repeats the id: the members now hold the new name.
    const renamed = await scim('PATCH', `/Groups/${groupId}`, patch({ op: 'replace', value: { id: groupId, displayName: `${name} (Baytown)` } }));
    expect(renamed.status).toBe(200);
    expect(renamed.body.displayName).toBe(`${name} (Baytown)`);
    const firstGrants = (await hrEvents(first.id)).filter((e) => e.type === 'access_grant');
    expect(firstGrants.map((e) => e.payload.access!.group)).toEqual([name, `${name} (Baytown)`]);

    const read = await scim('GET', `/Groups/${groupId}`);
    expect(read.body).toMatchObject({ id: groupId, displayName: `${name} (Baytown)`, members: [{ value: firstId }] });
    expect((await scim('DELETE', `/Groups/${groupId}`)).status).toBe(204);
    expect((await scim('GET', `/Groups/${groupId}`)).status).toBe(404);
    expect((await keptDeliveries(`DELETE /scim/v2/Groups/${groupId}`))[0]!.note).toContain(`left "${name} (Baytown)": ${first.id}`);
  });

  it('PUT replaces a group; Entra removes members with path "members" and a value; a member that is no user is 400', async () => {
    const p = person(11, 'GP'); // EHS Specialist at Baytown
    const userId = await createUser(entraUser(p));
    const created = await scim('POST', '/Groups', { schemas: [GROUP], displayName: `Safety Committee ${randomUUID().slice(0, 8)}`, externalId: 'entra-group-1' });
    expect(created.status).toBe(201);
    expect(created.body.members).toEqual([]);
    const id = created.body.id as string;
    const put = await scim('PUT', `/Groups/${id}`, { schemas: [GROUP], displayName: created.body.displayName, externalId: 'entra-group-1', members: [{ value: userId }] });
    expect(put.status).toBe(200);
    expect(put.body.members.map((m: { value: string }) => m.value)).toEqual([userId]);
    expect((await hrEvents(p.id)).filter((e) => e.type === 'access_grant').map((e) => e.payload.access!.group)).toEqual([created.body.displayName]);
    const byExternalId = await scim('GET', `/Groups?${filter('externalId eq "entra-group-1"')}`);
    expect(byExternalId.body.totalResults).toBe(1);

    const removed = await scim('PATCH', `/Groups/${id}`, patch({ op: 'Remove', path: 'members', value: [{ value: userId }] }));
    expect(removed.status).toBe(200);
    expect(removed.body.members).toEqual([]);

    const stranger = randomUUID();
    const bad = await scim('PATCH', `/Groups/${id}`, patch({ op: 'Add', path: 'members', value: [{ value: stranger }] }));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ scimType: 'invalidValue' });
    expect(bad.body.detail).toContain(stranger);
    expect((await deadLetters(stranger))[0]).toMatchObject({ status: 400, endpoint: `PATCH /scim/v2/Groups/${id}` });
  });
});

describe('SCIM import (paging and filters)', () => {
  it('pages through users with startIndex and count: integer totals, no one twice; userName and externalId filters, joined by and', async () => {
    const run = randomUUID().slice(0, 8);
    const before = await scim('GET', '/Users?count=0');
    expect(before.body.Resources).toEqual([]);
    const total = before.body.totalResults as number;
    expect(Number.isInteger(total)).toBe(true);
    const ids: string[] = [];
    // Accounts that are no employee (no employeeNumber, no externalId): kept, and no HR event.
    for (let i = 0; i < 6; i++) ids.push(await createUser({ schemas: [USER], userName: `import-${run}-${i}@example.com`, name: { givenName: 'Import', familyName: `No ${i}` } }));
    const [kept] = await keptDeliveries('POST /scim/v2/Users').then((rows) => rows.filter((r) => r.raw_body.includes(`import-${run}-0@`)));
    expect(kept).toMatchObject({ event_ids: [], note: 'no enterprise employeeNumber and no externalId: not linked to an employee, no HR event' });

    const seen: string[] = [];
    for (let startIndex = 1; ; startIndex += 2) {
      const page = await scim('GET', `/Users?startIndex=${startIndex}&count=2`);
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({ schemas: [LIST], totalResults: total + 6, startIndex });
      for (const key of ['totalResults', 'itemsPerPage', 'startIndex']) expect(Number.isInteger(page.body[key])).toBe(true);
      expect(page.body.itemsPerPage).toBe(page.body.Resources.length);
      if (!page.body.Resources.length) break;
      expect(page.body.itemsPerPage).toBeLessThanOrEqual(2);
      seen.push(...page.body.Resources.map((r: { id: string }) => r.id));
    }
    expect(seen).toHaveLength(total + 6);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids) expect(seen).toContain(id);
    const tail = await scim('GET', `/Users?startIndex=${total + 6}&count=100`);
    expect(tail.body).toMatchObject({ totalResults: total + 6, itemsPerPage: 1, startIndex: total + 6 });

    const p = person(9, 'IM');
    const userId = await createUser(oktaUser(p));
    const both = await scim('GET', `/Users?${filter(`userName eq "${p.email}" and externalId eq "${oktaUser(p).externalId}"`)}`);
    expect(both.body.Resources.map((r: { id: string }) => r.id)).toEqual([userId]);
    const mismatch = await scim('GET', `/Users?${filter(`userName eq "${p.email}" and externalId eq "someone-else"`)}`);
    expect(mismatch.body).toMatchObject({ totalResults: 0, itemsPerPage: 0, Resources: [] });
    const byExternalId = await scim('GET', `/Users?${filter(`externalId eq "${oktaUser(p).externalId}"`)}&attributes=userName`);
    expect(byExternalId.body.Resources).toEqual([{ schemas: [USER, ENTERPRISE], id: userId, userName: p.email, meta: expect.objectContaining({ resourceType: 'User' }) }]);
  });
});

describe('SCIM errors', () => {
  it('without a token or with a wrong one: 401, a SCIM Error, dead-lettered, nothing stored', async () => {
    const marker = `nobody-${randomUUID().slice(0, 8)}@example.com`;
    const missing = await scim('POST', '/Users', { schemas: [USER], userName: marker }, { token: null });
    expect(missing.status).toBe(401);
    expect(missing.contentType).toMatch(/^application\/scim\+json/);
    expect(missing.body).toEqual({ schemas: [ERROR], status: '401', detail: 'missing Authorization: Bearer <token>' });
    const wrong = await scim('POST', '/Users', { schemas: [USER], userName: marker }, { token: 'not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.detail).toMatch(/not the one configured/);
    expect((await scim('GET', '/ServiceProviderConfig', undefined, { token: 'not-the-token' })).status).toBe(401);
    const letters = await deadLetters(marker);
    expect(letters.map((l) => [l.status, l.endpoint])).toEqual([
      [401, 'POST /scim/v2/Users'],
      [401, 'POST /scim/v2/Users'],
    ]);
    expect(JSON.parse(letters[0]!.raw_body)).toEqual({ schemas: [USER], userName: marker });
    expect((await stack.pool.query('SELECT 1 FROM scim_users WHERE user_name = $1', [marker])).rowCount).toBe(0);
  });

  it('no token configured: 503', async () => {
    const app = createBridge({ temporal: stack.client, pool: stack.pool, taskQueue: stack.taskQueue, secrets: { webhook: stack.webhookSecret }, hris: bambooHr(stack.config.hris), logger: pino({ level: 'silent' }) });
    try {
      const res = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: 'Bearer anything' } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(JSON.parse(res.body)).toMatchObject({ schemas: [ERROR], status: '503', detail: expect.stringContaining('SCIM_BEARER_TOKEN') });
    } finally {
      await app.close();
    }
  });

  it('bad filters are 400 invalidFilter; bad JSON 400 invalidSyntax (kept verbatim); bad values, paths and ops are named; unknown ids 404', async () => {
    for (const expression of ['userName co "ann"', 'title eq "Operator"', 'userName eq "a" or userName eq "b"', 'userName eq']) {
      const res = await scim('GET', `/Users?${filter(expression)}`);
      expect(res.status, expression).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
    }
    expect((await scim('GET', `/Groups?${filter('displayName sw "DCS"')}`)).body.scimType).toBe('invalidFilter');
    expect((await scim('GET', '/Users?startIndex=first')).body).toMatchObject({ status: '400', scimType: 'invalidValue' });

    const broken = `{"schemas":["${USER}"],"userName": "broken-${randomUUID().slice(0, 8)}", `;
    const syntax = await scim('POST', '/Users', undefined, { raw: broken });
    expect(syntax.status).toBe(400);
    expect(syntax.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
    const [letter] = await deadLetters(broken);
    expect(letter).toMatchObject({ status: 400, raw_body: broken, detail: { scimType: 'invalidSyntax' } });

    const noUserName = await scim('POST', '/Users', { schemas: [USER], name: { givenName: 'No', familyName: 'Name' } });
    expect(noUserName.status).toBe(400);
    expect(noUserName.body).toMatchObject({ scimType: 'invalidValue' });
    expect(noUserName.body.detail).toMatch(/userName/);
    const badActive = await scim('POST', '/Users', { schemas: [USER], userName: `maybe-${randomUUID()}@example.com`, active: 'perhaps' });
    expect(badActive.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect(badActive.body.detail).toMatch(/active/);

    const id = await createUser({ schemas: [USER], userName: `errors-${randomUUID().slice(0, 8)}@example.com` });
    const cases: [unknown, string][] = [
      [patch({ op: 'replace', path: 'emails[type eq', value: 'x' }), 'invalidPath'],
      [patch({ op: 'replace', path: 'urn:example:params:scim:schemas:unknown:title', value: 'x' }), 'invalidPath'],
      [patch({ op: 'remove' }), 'noTarget'],
      [patch({ op: 'move', path: 'title', value: 'x' }), 'invalidSyntax'],
      [patch({ op: 'replace', path: 'id', value: randomUUID() }), 'mutability'],
      [patch({ op: 'replace', path: 'userName', value: '' }), 'invalidValue'],
      [{ schemas: [PATCH_OP] }, 'invalidSyntax'],
    ];
    for (const [body, scimType] of cases) {
      const res = await scim('PATCH', `/Users/${id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.scimType, JSON.stringify(body)).toBe(scimType);
    }

    for (const path of [`/Users/${randomUUID()}`, '/Users/not-a-uuid', `/Groups/${randomUUID()}`, '/Bulk']) {
      const res = await scim('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '404' });
    }
    expect((await scim('PUT', `/Users/${randomUUID()}`, { schemas: [USER], userName: 'x@example.com' })).status).toBe(404);
  });

  it('odd input is a 4xx SCIM Error, never a 5xx', async () => {
    const userId = await createUser({ schemas: [USER], userName: `odd-${randomUUID().slice(0, 8)}@example.com`, name: { givenName: 'Odd', familyName: 'One' } });
    const group = await scim('POST', '/Groups', { schemas: [GROUP], displayName: `Odd ${randomUUID().slice(0, 8)}` });
    const odd: [string, string, unknown][] = [
      ['POST', '/Users', []],
      ['POST', '/Users', 'just a string'],
      ['POST', '/Users', { userName: 42 }],
      ['POST', '/Users', { userName: 'x@example.com', emails: 'x@example.com' }],
      ['POST', '/Users', { userName: 'y@example.com', name: 'Y' }],
      ['POST', '/Groups', { displayName: '' }],
      ['POST', '/Groups', { displayName: 'Nested', members: [{ value: group.body.id, type: 'Group' }] }],
      ['POST', '/Groups', { displayName: 'Not uuids', members: [{ value: 'abc' }] }],
      ['PATCH', `/Users/${userId}`, patch({ op: 'replace', path: 'name', value: 'Bob' })],
      ['PATCH', `/Users/${userId}`, patch({ op: 'replace', path: 'emails', value: 'bob@example.com' })],
      ['PATCH', `/Users/${userId}`, patch({ op: 'add', value: 'not an object' })],
      ['PATCH', `/Users/${userId}`, patch({ op: 'add', value: { 'emails[type eq': 'x' } })],
      ['PATCH', `/Users/${userId}`, patch({ op: 'replace', path: 'emails[type co "w"]', value: 'x' })],
      ['PATCH', `/Users/${userId}`, patch({ op: 'replace', path: 'groups', value: [] })],
      ['PATCH', `/Users/${userId}`, { Operations: 'replace' }],
      ['PATCH', `/Groups/${group.body.id}`, patch({ op: 'add', path: 'members', value: 'abc' })],
      ['PATCH', `/Groups/${group.body.id}`, patch({ op: 'add', path: 'members', value: [{ value: 'not-a-uuid' }] })],
      ['PATCH', `/Groups/${group.body.id}`, patch({ op: 'replace', path: 'displayName', value: 7 })],
      ['GET', `/Users?startIndex=99999999999999999999&count=-5`, undefined],
      ['GET', `/Users?${filter('id eq "not-a-uuid" and userName eq 5')}`, undefined],
      ['GET', `/Groups?${filter('members[display eq "x"]')}`, undefined],
      ['DELETE', '/Groups/not-a-uuid', undefined],
    ];
    for (const [method, path, body] of odd) {
      const res = await scim(method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBeLessThan(500);
      if (res.status >= 400) expect(res.body, `${method} ${path}`).toMatchObject({ schemas: [ERROR], status: String(res.status) });
    }
    // A huge startIndex is past the end, not an error.
    expect((await scim('GET', '/Users?startIndex=99999999999999999999&count=-5')).body).toMatchObject({ itemsPerPage: 0, Resources: [] });
  });
});

describe('SCIM discovery', () => {
  it('ServiceProviderConfig, ResourceTypes and Schemas say what is supported', async () => {
    const config = await scim('GET', '/ServiceProviderConfig');
    expect(config.status).toBe(200);
    expect(config.contentType).toMatch(/^application\/scim\+json/);
    expect(config.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });

    const types = await scim('GET', '/ResourceTypes');
    expect(types.body).toMatchObject({ schemas: [LIST], totalResults: 2, itemsPerPage: 2, startIndex: 1 });
    expect(types.body.Resources).toEqual([
      expect.objectContaining({ id: 'User', endpoint: '/Users', schema: USER, schemaExtensions: [{ schema: ENTERPRISE, required: false }] }),
      expect.objectContaining({ id: 'Group', endpoint: '/Groups', schema: GROUP }),
    ]);
    expect((await scim('GET', '/ResourceTypes/User')).body.id).toBe('User');

    const schemas = await scim('GET', '/Schemas');
    expect(schemas.body.Resources.map((s: { id: string }) => s.id)).toEqual([USER, ENTERPRISE, GROUP]);
    const enterprise = await scim('GET', `/Schemas/${ENTERPRISE}`);
    expect(enterprise.body.attributes.map((a: { name: string }) => a.name)).toEqual(['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager']);
    const user = schemas.body.Resources[0];
    expect(user.attributes.find((a: { name: string }) => a.name === 'userName')).toMatchObject({ required: true, uniqueness: 'server', caseExact: false });
    expect(user.attributes.find((a: { name: string }) => a.name === 'active')).toMatchObject({ type: 'boolean' });
  });
});
