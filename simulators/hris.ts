import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { webhookSender } from './webhook-sender';
import { createApp, serve, type RunningServer } from './http';

// A BambooHR-style HRIS: /api/gateway.php/{company}/v1 with HTTP Basic (API key as the user),
// employees by id with a `fields` list, the directory, and changed-since. Rough edges kept:
// ids are strings, an empty date comes back as "0000-00-00", unrequested fields are absent.

export type BambooEmployee = {
  id: string;
  employeeNumber?: string;
  firstName: string;
  lastName: string;
  workEmail: string;
  jobTitle: string;
  department: string;
  location: string;
  division?: string;
  supervisorEId?: string | null;
  employmentHistoryStatus: string;
  hireDate: string;
  terminationDate?: string | null;
  status?: 'Active' | 'Inactive';
  customJobCode: string;
  customContractAgency?: string | null;
  customContractStart?: string | null;
  customContractEnd?: string | null;
  customCoveredTasks?: string | null;
  customSponsorEId?: string | null;
};

export interface HrisWebhook {
  url: string;
  privateKey: string;
  /** BambooHR offers both: event-based ({type, data}) or field-based ({employees: [{fields}]}). */
  format?: 'event' | 'field';
}

export interface HrisSimulatorOptions {
  port?: number;
  company?: string;
  apiKey?: string;
  employees?: BambooEmployee[];
  /** Where HR edits are announced, signed like BambooHR (HMAC-SHA256 of body + timestamp). */
  webhook?: HrisWebhook;
}

export interface WebhookDelivery {
  at: string;
  employeeId: string;
  type: string;
  attempts: number;
  status: number | null;
}

export interface HrisSimulator extends RunningServer {
  company: string;
  apiKey: string;
  /** Creates or replaces an employee as HR would in the HRIS screens (and announces it, when a webhook is set). */
  upsertEmployee(employee: BambooEmployee): void;
  employees(): BambooEmployee[];
  setWebhook(webhook: HrisWebhook | undefined): void;
  /** The rows of one of an employee's tables (customSkills, customJobChangeRequests, …). */
  tableRows(employeeId: string, table: string): TableRow[];
  /** Every webhook delivery so far; `idle()` waits for those still retrying. */
  webhookDeliveries(): WebhookDelivery[];
  idle(): Promise<void>;
}

export type TableRow = { id: string; employeeId: string } & Record<string, string | null>;

// BambooHR's tabular data: /employees/{id}/tables/{table} lists rows, POST adds one, POST …/{rowId}
// updates one. Only custom tables (and jobInfo) exist here; values are strings.
const TABLE = /^(custom[A-Za-z0-9]+|jobInfo)$/;

const DATE_FIELDS = new Set(['hireDate', 'terminationDate', 'customContractStart', 'customContractEnd']);

export async function startHrisSimulator(options: HrisSimulatorOptions = {}): Promise<HrisSimulator> {
  const company = options.company ?? 'gulfcoast';
  const apiKey = options.apiKey ?? 'hris-dev-key';
  const employees = new Map<string, { record: BambooEmployee; lastChanged: string; action: 'Inserted' | 'Updated' | 'Deleted' }>();
  let webhook = options.webhook;
  const webhooks = webhookSender<WebhookDelivery>();
  const tables = new Map<string, TableRow[]>();
  let nextRowId = 1;
  const rowsOf = (employeeId: string, table: string) => {
    const key = `${employeeId}/${table}`;
    if (!tables.has(key)) tables.set(key, []);
    return tables.get(key)!;
  };

  // Like BambooHR: POST, signed, retried on a 5xx (never on a 4xx), a few times.
  const announce = (record: BambooEmployee, previous: BambooEmployee | undefined) => {
    if (!webhook) return;
    const { url, privateKey, format = 'event' } = webhook;
    const changedFields = Object.keys(record).filter((k) => (record as Record<string, unknown>)[k] !== (previous as Record<string, unknown> | undefined)?.[k]);
    const type = previous ? 'employee.updated' : 'employee.created';
    const body = JSON.stringify(
      format === 'event'
        ? { type, timestamp: new Date().toISOString(), data: { companyId: company, employeeId: record.id, changedFields } }
        : { employees: [{ id: record.id, action: previous ? 'Updated' : 'Created', timestamp: new Date().toISOString(), changedFields, fields: Object.fromEntries(changedFields.map((f) => [f, { value: (record as Record<string, unknown>)[f] }])) }] },
    );
    webhooks.send({ at: new Date().toISOString(), employeeId: record.id, type, attempts: 0, status: null }, url, body, () => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return { 'x-bamboohr-timestamp': timestamp, 'x-bamboohr-signature': createHmac('sha256', privateKey).update(body + timestamp).digest('hex') };
    });
  };

  const upsertEmployee = (record: BambooEmployee) => {
    const existing = employees.get(record.id);
    employees.set(record.id, {
      record: { status: 'Active', ...record },
      lastChanged: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
      action: existing ? 'Updated' : 'Inserted',
    });
    announce(employees.get(record.id)!.record, existing?.record);
  };
  for (const e of options.employees ?? []) upsertEmployee(e);

  const fieldValue = (record: BambooEmployee, field: string) => {
    const value = (record as Record<string, unknown>)[field];
    if (value === undefined || value === null || value === '') return DATE_FIELDS.has(field) ? '0000-00-00' : null;
    return value;
  };

  const app = createApp();
  const base = `/api/gateway.php/:company/v1`;

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.url.startsWith('/api/gateway.php/')) return;
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ');
    const user = scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString().split(':')[0] : undefined;
    if (user !== apiKey) {
      return reply.code(401).header('WWW-Authenticate', 'Basic realm="BambooHR"').send();
    }
    if ((req.params as { company?: string }).company !== company) return reply.code(404).send();
  });

  app.get(`${base}/employees/directory`, async () => {
    const fields = ['displayName', 'firstName', 'lastName', 'jobTitle', 'workEmail', 'department', 'location', 'division', 'supervisorEId'];
    return {
      fields: fields.map((id) => ({ id, type: 'text', name: id })),
      employees: [...employees.values()]
        .filter((e) => e.action !== 'Deleted' && e.record.status !== 'Inactive')
        .map(({ record }) => ({ id: record.id, displayName: `${record.firstName} ${record.lastName}`, ...pick(record, fields) })),
    };
  });

  app.get(`${base}/employees/changed`, async (req, reply) => {
    const since = (req.query as { since?: string }).since;
    if (!since || Number.isNaN(Date.parse(since))) {
      return reply.code(400).send({ error: 'since must be an ISO 8601 timestamp' });
    }
    const changed: Record<string, { id: string; action: string; lastChanged: string }> = {};
    for (const [id, e] of employees) {
      if (Date.parse(e.lastChanged) >= Date.parse(since)) changed[id] = { id, action: e.action, lastChanged: e.lastChanged };
    }
    return { latest: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'), employees: changed };
  });

  app.get(`${base}/employees/:id`, async (req, reply) => {
    const { id } = req.params as { id: string };
    const entry = employees.get(id);
    if (!entry || entry.action === 'Deleted') return reply.code(404).send();
    const requested = ((req.query as { fields?: string }).fields ?? 'firstName,lastName').split(',').map((f) => f.trim()).filter(Boolean);
    const out: Record<string, unknown> = { id };
    for (const field of requested) out[field] = fieldValue(entry.record, field);
    return out;
  });

  const tableRequest = (req: FastifyRequest, reply: FastifyReply) => {
    const { id, table } = req.params as { id: string; table: string };
    const entry = employees.get(id);
    if (!entry || entry.action === 'Deleted') return void reply.code(404).send();
    if (!TABLE.test(table)) return void reply.code(400).send({ error: `unknown table "${table}"` });
    return rowsOf(id, table);
  };
  const rowValues = (body: unknown, reply: FastifyReply) => {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return void reply.code(400).send({ error: 'body must be a JSON object of field values' });
    const values = Object.entries(body as Record<string, unknown>);
    if (values.some(([, v]) => v !== null && typeof v !== 'string')) return void reply.code(400).send({ error: 'field values must be strings' });
    return Object.fromEntries(values) as Record<string, string | null>;
  };
  app.get(`${base}/employees/:id/tables/:table`, async (req, reply) => tableRequest(req, reply) ?? reply);
  app.post(`${base}/employees/:id/tables/:table`, async (req, reply) => {
    const rows = tableRequest(req, reply);
    const values = rows && rowValues(req.body, reply);
    if (!rows || !values) return reply;
    const row = { ...values, id: String(nextRowId++), employeeId: (req.params as { id: string }).id };
    rows.push(row);
    return reply.code(201).send(row);
  });
  app.post(`${base}/employees/:id/tables/:table/:rowId`, async (req, reply) => {
    const rows = tableRequest(req, reply);
    const values = rows && rowValues(req.body, reply);
    if (!rows || !values) return reply;
    const row = rows.find((r) => r.id === (req.params as { rowId: string }).rowId);
    if (!row) return reply.code(404).send();
    Object.assign(row, values, { id: row.id, employeeId: row.employeeId });
    return row;
  });

  app.get('/sim/state', async () => ({ company, employees: [...employees.values()].map((e) => ({ ...e.record, lastChanged: e.lastChanged })) }));
  app.put('/sim/employees/:id', async (req) => {
    const record = { ...(req.body as BambooEmployee), id: (req.params as { id: string }).id };
    upsertEmployee(record);
    return employees.get(record.id)!.record;
  });

  const server = await serve(app, options.port ?? 0);
  return {
    ...server,
    company,
    apiKey,
    upsertEmployee,
    employees: () => [...employees.values()].map((e) => e.record),
    setWebhook: (w) => void (webhook = w),
    tableRows: (employeeId, table) => rowsOf(employeeId, table).map((r) => ({ ...r })),
    webhookDeliveries: webhooks.deliveries,
    idle: webhooks.idle,
  };
}

function pick(record: BambooEmployee, fields: string[]) {
  return Object.fromEntries(fields.filter((f) => f in record).map((f) => [f, (record as Record<string, unknown>)[f] ?? null]));
}
