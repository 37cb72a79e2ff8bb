import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { previousProfile, readSnapshot, restoreSnapshot, swapSnapshot } from '../activities/intake';
import { changeEvents } from '../domain/changes';
import type { HrEvent, HrProfile } from '../domain/hr-event';
import { parseBody, type BridgeContext } from './bridge';

// BambooHR webhooks (SPEC §9): X-BambooHR-Signature = hex(HMAC-SHA256(private key, raw body +
// timestamp)), plain concatenation. Two payload shapes: event-based ({type, data.employeeId}: the
// employee is read from the HRIS afterwards) and field-based ({employees: [{id, fields}]}). Either
// way the full profile is read from the HRIS and compared with the last one seen, so "created"
// then "updated" for the same hire is one hire, and a change of title, department or location
// becomes a role change or a transfer. BambooHR retries a 5xx (never a 4xx): an HRIS it cannot
// reach here answers 503 so it tries again.

export const BAMBOOHR_SOURCE = 'bamboohr';
const ENDPOINT = '/webhooks/bamboohr';
const REPLAY_WINDOW_SECONDS = 300;

const EventBased = z.object({
  type: z.enum(['employee.created', 'employee.updated', 'employee.deleted']),
  timestamp: z.union([z.string(), z.number()]).optional(),
  data: z.object({
    companyId: z.union([z.string(), z.number()]).optional(),
    employeeId: z.union([z.string().min(1), z.number()]),
    changedFields: z.array(z.string()).optional(),
  }),
});
const FieldBased = z.object({
  employees: z
    .array(
      z.object({
        id: z.union([z.string().min(1), z.number()]),
        action: z.string().optional(),
        timestamp: z.union([z.string(), z.number()]).optional(),
        changedFields: z.array(z.string()).optional(),
        fields: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1, 'must list at least one employee'),
});
const Payload = z.union([EventBased, FieldBased], { message: 'is neither an event-based ({type, data}) nor a field-based ({employees}) BambooHR payload' });

export function signBambooHr(key: string, rawBody: string, timestamp: string): string {
  return createHmac('sha256', key).update(rawBody + timestamp).digest('hex');
}

function verify(key: string, raw: string, timestamp: string | undefined, signature: string | undefined): string | null {
  if (!timestamp || !signature) return 'missing X-BambooHR-Timestamp or X-BambooHR-Signature';
  const seconds = /^\d+$/.test(timestamp) ? Number(timestamp) : Date.parse(timestamp) / 1000;
  if (!Number.isFinite(seconds)) return 'X-BambooHR-Timestamp is not a timestamp';
  if (Math.abs(Date.now() / 1000 - seconds) > REPLAY_WINDOW_SECONDS) return `stale timestamp (the window is ${REPLAY_WINDOW_SECONDS} s)`;
  if (!/^[0-9a-f]{64}$/i.test(signature)) return 'X-BambooHR-Signature is not a hex SHA-256';
  const expected = Buffer.from(signBambooHr(key, raw, timestamp), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? null : 'signature does not match';
}

export function registerBambooHrWebhooks(app: FastifyInstance, ctx: BridgeContext): void {
  app.post(ENDPOINT, async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const headers = req.headers as Record<string, unknown>;
    const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
    const reject = async (status: number, reason: string, extra?: Record<string, unknown>) => ctx.send(reply, await ctx.reject(ENDPOINT, BAMBOOHR_SOURCE, status, reason, headers, raw, extra));

    if (!ctx.secrets.bamboohr) return reject(503, 'BambooHR webhooks are not configured: set BAMBOOHR_WEBHOOK_KEY');
    const problem = verify(ctx.secrets.bamboohr, raw, header('x-bamboohr-timestamp'), header('x-bamboohr-signature'));
    if (problem) return reject(401, problem);

    const parsed = parseBody(raw, Payload);
    if (!parsed.ok) return reject(400, parsed.reason, parsed.extra);
    const changes =
      'employees' in parsed.data
        ? parsed.data.employees.map((e) => ({ employeeId: String(e.id), deleted: /delete/i.test(e.action ?? '') }))
        : [{ employeeId: String(parsed.data.data.employeeId), deleted: parsed.data.type === 'employee.deleted' }];

    const delivery = createHash('sha256').update(raw).digest('hex').slice(0, 16);
    const occurredAt = new Date().toISOString();
    const events: HrEvent[] = [];
    const unusable: { employeeId: string; problem: string }[] = [];
    for (const change of changes) {
      const outcome = await ctx.onePersonAtATime(change.employeeId, async (): Promise<{ unusable?: string; retryLater?: string; taken?: HrEvent[] }> => {
        let current: HrProfile | null;
        try {
          current = await ctx.hris.getProfile(change.employeeId);
        } catch (err) {
          const e = err as { nonRetryable?: boolean; message: string };
          // A record hrsync cannot read is for a person to look at; an HRIS that does not answer is for BambooHR to retry.
          if (e.nonRetryable) return { unusable: e.message };
          return { retryLater: `the HRIS did not answer for employee ${change.employeeId}; retry later (${e.message})` };
        }
        if (!current) {
          const last = await readSnapshot(ctx.pool, BAMBOOHR_SOURCE, change.employeeId);
          if (!change.deleted || !last) return { unusable: 'not found in the HRIS' };
          // Deleted from the HRIS: the person is gone; close the account as of today.
          current = { ...last, terminationDate: occurredAt.slice(0, 10) };
        }
        const previous = await swapSnapshot(ctx.pool, BAMBOOHR_SOURCE, current);
        const derived = changeEvents(await previousProfile(ctx.pool, BAMBOOHR_SOURCE, change.employeeId, previous), current, { source: BAMBOOHR_SOURCE, occurredAt, idPrefix: `bamboohr-${change.employeeId}-${delivery}` });
        const taken: HrEvent[] = [];
        for (const event of derived) {
          try {
            await ctx.submit(event, raw);
          } catch (err) {
            // Not taken: forget this change was seen, so BambooHR's retry brings it again.
            await restoreSnapshot(ctx.pool, BAMBOOHR_SOURCE, change.employeeId, previous);
            return { retryLater: `the workflow engine did not take the event; retry later (${(err as Error).message})` };
          }
          taken.push(event);
        }
        return { taken };
      });
      if (outcome.retryLater) return reject(503, outcome.retryLater);
      if (outcome.unusable) unusable.push({ employeeId: change.employeeId, problem: outcome.unusable });
      events.push(...(outcome.taken ?? []));
    }

    if (unusable.length) {
      await ctx.reject(ENDPOINT, BAMBOOHR_SOURCE, 422, 'employees that could not be read from the HRIS are held for review', headers, raw, { unusable });
    }
    await ctx.keep(BAMBOOHR_SOURCE, ENDPOINT, headers, raw, events.map((e) => e.id), unusable.length ? `${unusable.length} held for review` : undefined);
    return reply.code(200).send({ status: 'ok', events: events.map((e) => ({ id: e.id, type: e.type, employeeId: e.employee.id })), heldForReview: unusable });
  });
}
