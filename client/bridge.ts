import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { keepDelivery, recordDeadLetter, submitHrEvent, type Submission } from '../activities/intake';
import type { Hris } from '../activities/hris';
import { describeInvalid, HrEvent } from '../domain/hr-event';
import type { Logger } from '../stack/logger';
import { bridgeMetrics, bridgeRegistry, countTakenEvent, enableDefaultMetrics, endpointLabel, rejectReason, sourceLabel } from '../stack/metrics';
import { registerBambooHrWebhooks } from './bamboohr-webhooks';
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
}

export interface BridgeOptions {
  temporal: Client;
  pool: pg.Pool;
  taskQueue: string;
  secrets: BridgeSecrets;
  /** To read the full profile when a vendor only says who changed. */
  hris: Hris;
  logger: Logger;
}

export type Outcome = { status: number; body: Record<string, unknown> };

export interface BridgeContext extends BridgeOptions {
  /** Turns a delivery away: dead-lettered with its raw body and the reason, answered with the status. */
  reject(endpoint: string, source: string, status: number, reason: string, headers: Record<string, unknown>, rawBody: string, extra?: Record<string, unknown>): Promise<Outcome>;
  /** Takes one canonical event (deduplicated by id) for its employee's entity workflow. */
  submit(event: HrEvent, rawBody: string): Promise<Submission>;
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
    !!(endpoint.includes('/webhooks/bamboohr') ? secrets.bamboohr : endpoint.includes('/webhooks/okta') ? secrets.okta : endpoint.includes('/scim/') ? secrets.scim : secrets.webhook);

  const ctx: BridgeContext = {
    ...options,
    async reject(endpoint, source, status, reason, headers, rawBody, extra = {}) {
      const label = rejectReason(status, rawBody, configured(endpoint));
      bridgeMetrics.eventsRejected.inc({ source: sourceLabel(source), endpoint: endpointLabel(endpoint), status: String(status), reason: label });
      const deadLetterId = await recordDeadLetter(pool, { source, endpoint, status, reason, detail: extra, headers, rawBody });
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
    keep: (source, endpoint, headers, rawBody, eventIds, note) => keepDelivery(pool, { source, endpoint, headers, rawBody, eventIds, note }),
    send: (reply, outcome) => reply.code(outcome.status).send(outcome.body),
  };

  app.post('/events', async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const headers = req.headers as Record<string, unknown>;
    const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);

    const signature = verifyEventSignature(options.secrets.webhook, raw, header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER));
    if (!signature.ok) return ctx.send(reply, await ctx.reject('/events', 'api', 401, signature.reason, headers, raw));

    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      return ctx.send(reply, await ctx.reject('/events', 'api', 400, `body is not JSON: ${(err as Error).message}`, headers, raw, { field: '(body)' }));
    }
    const parsed = HrEvent.safeParse(json);
    if (!parsed.success) {
      const { field, message, issues } = describeInvalid(parsed.error);
      return ctx.send(reply, await ctx.reject('/events', 'api', 400, message, headers, raw, { field, issues }));
    }
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
