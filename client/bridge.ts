import type { z } from 'zod';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { keepDelivery, recordDeadLetter, submitCompletion, submitHrEvent, type Submission } from '../activities/intake';
import type { Hris } from '../activities/hris';
import type { Lms } from '../activities/lms';
import type { Completion } from '../domain/learning';
import type { HrsyncConfig } from '../stack/config';
import { describeInvalid, HrEvent } from '../domain/hr-event';
import type { Logger } from '../stack/logger';
import { bridgeMetrics, bridgeRegistry, countTakenEvent, enableDefaultMetrics, endpointLabel, rejectReason, sourceLabel } from '../stack/metrics';
import { registerBambooHrWebhooks } from './bamboohr-webhooks';
import { registerLmsWebhooks } from './lms-webhooks';
import { registerOktaEventHooks } from './okta-hooks';
import { registerScim } from './scim';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyEventSignature } from './signing';

// The event bridge: verify, validate, normalise to one HrEvent, dedupe, and hand the event to
// the employee's entity workflow. It never does the work itself. Each integration surface
// (SPEC §4) registers its routes against the same context.

/** The secret of each surface; a surface without one answers 503 (and keeps what it received). */
export interface BridgeSecrets {
  webhook: string;
  bamboohr?: string;
  okta?: string;
  scim?: string;
  lms?: string;
}

export function bridgeSecrets(webhook: string, surfaces: HrsyncConfig['surfaces']): BridgeSecrets {
  return { webhook, bamboohr: surfaces.bamboohrWebhookKey, okta: surfaces.oktaHookSecret, scim: surfaces.scimToken, lms: surfaces.lmsWebhookSecret };
}

export interface BridgeOptions {
  temporal: Client;
  pool: pg.Pool;
  taskQueue: string;
  secrets: BridgeSecrets;
  /** To read the full profile when a vendor only says who changed. */
  hris: Hris;
  /** To resolve the person an LMS webhook names by LMS user id; without it the LMS surface answers 503. */
  lms?: Lms;
  logger: Logger;
}

export type Outcome = { status: number; body: Record<string, unknown> };

/** A verified body read as JSON and parsed with the surface's schema, or why not (the field at fault). */
export function parseBody<T>(raw: string, schema: z.ZodType<T>): { ok: true; data: T } | { ok: false; reason: string; extra: Record<string, unknown> } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}`, extra: { field: '(body)' } };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, data: parsed.data };
  const { field, message, issues } = describeInvalid(parsed.error);
  return { ok: false, reason: message, extra: { field, issues } };
}

/** An in-process lock per key: one change of a resource (or of a person's snapshot) at a time. */
export function keyedLock() {
  const tails = new Map<string, Promise<void>>();
  return async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    tails.set(key, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

export interface BridgeContext extends BridgeOptions {
  /**
   * Runs one change of a person's profile at a time (read the last snapshot, derive and hand over
   * the events, move the snapshot on or leave it), whichever surface it came through: two
   * deliveries about the same person interleaving could otherwise split a change between them
   * and, if both hand-overs failed, lose it.
   */
  onePersonAtATime<T>(employeeId: string, change: () => Promise<T>): Promise<T>;
  /** Turns a delivery away: dead-lettered with its raw body and the reason, answered with the status. */
  reject(endpoint: string, source: string, status: number, reason: string, headers: Record<string, unknown>, rawBody: string, extra?: Record<string, unknown>): Promise<Outcome>;
  /** Takes one canonical event (deduplicated by id) for its employee's entity workflow. */
  submit(event: HrEvent, rawBody: string): Promise<Submission>;
  /** Takes one completion reported by the LMS (deduplicated) for its learningRecord workflow. */
  takeCompletion(completion: Completion, source: string): ReturnType<typeof submitCompletion>;
  /** Keeps an accepted vendor delivery raw, with the events it produced. */
  keep(source: string, endpoint: string, headers: Record<string, unknown>, rawBody: string, eventIds: string[], note?: string): Promise<number>;
  send(reply: FastifyReply, outcome: Outcome): FastifyReply;
}

export function createBridge(options: BridgeOptions): FastifyInstance {
  const { temporal, pool, taskQueue, logger } = options;
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 * 1024 });
  // Signatures are over the raw bytes, so bodies stay strings until verified.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  // Whether the surface an endpoint belongs to has its secret (a 503 without one is "not-configured").
  const { secrets } = options;
  const configured = (endpoint: string) =>
    !!(endpoint.includes('/webhooks/bamboohr') ? secrets.bamboohr : endpoint.includes('/webhooks/okta') ? secrets.okta : endpoint.includes('/scim/') ? secrets.scim : endpoint.includes('/webhooks/lms') ? secrets.lms && options.lms : secrets.webhook);

  const personLock = keyedLock();
  const ctx: BridgeContext = {
    ...options,
    onePersonAtATime: (employeeId, change) => personLock(employeeId, change),
    async reject(endpoint, source, status, reason, headers, rawBody, extra = {}) {
      const label = rejectReason(status, rawBody, configured(endpoint));
      bridgeMetrics.eventsRejected.inc({ source: sourceLabel(source), endpoint: endpointLabel(endpoint), status: String(status), reason: label });
      let deadLetterId: number | null = null;
      try {
        deadLetterId = await recordDeadLetter(pool, { source, endpoint, status, reason, detail: extra, headers, rawBody });
      } catch (err) {
        // Not kept (the database is down or its pool exhausted): a refusal the sender would not retry
        // becomes a 503 it will, so the delivery is not lost.
        logger.error({ endpoint, source, status, err: (err as Error).message }, 'could not keep a rejected delivery');
        return { status: 503, body: { error: `${reason}; and it could not be kept, so retry later` } };
      }
      // The short reason only: the full one can quote the body (JSON.parse does); it is in the dead letter.
      logger.warn({ endpoint, source, status, reason: label, field: extra.field, deadLetterId }, 'delivery rejected');
      return { status, body: { error: reason, ...extra, deadLetterId } };
    },
    async submit(event, rawBody) {
      const submitted = await submitHrEvent({ temporal, pool, taskQueue }, event, rawBody);
      countTakenEvent(event.source, submitted.status);
      logger.info({ eventId: event.id, employeeId: event.employee.id, workflowId: submitted.workflowId, type: event.type, status: submitted.status }, 'event taken');
      return submitted;
    },
    async takeCompletion(completion, source) {
      const taken = await submitCompletion({ temporal, pool, taskQueue }, completion, source);
      countTakenEvent(source, taken.status);
      logger.info({ completionKey: taken.completionKey, employeeId: completion.employeeId, workflowId: taken.workflowId, status: taken.status }, 'completion taken');
      return taken;
    },
    keep: (source, endpoint, headers, rawBody, eventIds, note) => keepDelivery(pool, { source, endpoint, headers, rawBody, eventIds, note }),
    send: (reply, outcome) => reply.code(outcome.status).send(outcome.body),
  };

  // Whatever a surface did not expect (its database gone mid-request, a body it could not take):
  // kept like any refusal and answered so that the sender knows to retry (503), never a bare 500.
  app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 503;
    logger.error({ url: req.url, status, err: err.message }, 'delivery failed unexpectedly');
    const source = /\/webhooks\/(bamboohr|okta|lms)|\/scim\//.exec(req.url)?.[1] ?? (req.url.includes('/scim/') ? 'scim' : 'api');
    const reason = status === 503 ? `the delivery could not be handled; retry later (${err.message})` : err.message;
    return ctx.send(reply, await ctx.reject(req.url.split('?')[0]!, source, status, reason, req.headers as Record<string, unknown>, raw));
  });

  app.post('/events', async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const headers = req.headers as Record<string, unknown>;
    const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);

    const signature = verifyEventSignature(options.secrets.webhook, raw, header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER));
    if (!signature.ok) return ctx.send(reply, await ctx.reject('/events', 'api', 401, signature.reason, headers, raw));

    const parsed = parseBody(raw, HrEvent);
    if (!parsed.ok) return ctx.send(reply, await ctx.reject('/events', 'api', 400, parsed.reason, headers, raw, parsed.extra));
    try {
      const submitted = await ctx.submit(parsed.data, raw);
      return ctx.send(reply, { status: submitted.status === 'accepted' ? 202 : 200, body: { ...submitted } });
    } catch (err) {
      logger.error({ eventId: parsed.data.id, employeeId: parsed.data.employee.id, err: (err as Error).message }, 'could not hand the event to Temporal');
      return ctx.send(reply, await ctx.reject('/events', 'api', 503, `the workflow engine did not take the event; retry later (${(err as Error).message})`, headers, raw));
    }
  });

  registerBambooHrWebhooks(app, ctx);
  registerOktaEventHooks(app, ctx);
  registerScim(app, ctx);
  registerLmsWebhooks(app, ctx);

  enableDefaultMetrics(bridgeRegistry);
  app.get('/metrics', async (_req, reply) => reply.header('content-type', bridgeRegistry.contentType).send(await bridgeRegistry.metrics()));

  app.get('/healthz', async (_req, reply) => {
    const check = async (fn: () => Promise<unknown>) => fn().then(() => 'ok', (err: Error) => `down: ${err.message}`);
    const [database, temporalStatus] = await Promise.all([
      check(() => pool.query('SELECT 1')),
      check(() => temporal.connection.workflowService.getSystemInfo({})),
    ]);
    const ok = database === 'ok' && temporalStatus === 'ok';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', database, temporal: temporalStatus });
  });

  return app;
}
