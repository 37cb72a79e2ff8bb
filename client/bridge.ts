import Fastify, { type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { describeInvalid, HrEvent } from '../domain/hr-event';
import { EmployeeIdKey, entityWorkflowId, hrEventSignal, WORKFLOW_FOR_EVENT } from '../workflows/definitions';
import type { Logger } from '../stack/logger';
import { recordDeadLetter } from './intake';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyEventSignature } from './signing';

// The event bridge: verify, validate, normalise to one HrEvent, dedupe, and hand the event to
// the employee's entity workflow. It never does the work itself.

export interface BridgeOptions {
  temporal: Client;
  pool: pg.Pool;
  taskQueue: string;
  webhookSecret: string;
  logger: Logger;
}

type Outcome = { status: number; body: Record<string, unknown> };

export function createBridge(options: BridgeOptions): FastifyInstance {
  const { temporal, pool, taskQueue, webhookSecret, logger } = options;
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 * 1024 });
  // Signatures are over the raw bytes, so bodies stay strings until verified.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  async function reject(endpoint: string, source: string, status: number, reason: string, headers: Record<string, unknown>, rawBody: string, extra: Record<string, unknown> = {}): Promise<Outcome> {
    const deadLetterId = await recordDeadLetter(pool, { source, endpoint, status, reason, detail: extra, headers, rawBody });
    logger.warn({ endpoint, status, reason, deadLetterId }, 'delivery rejected');
    return { status, body: { error: reason, ...extra, deadLetterId } };
  }

  async function accept(event: HrEvent, rawBody: string): Promise<Outcome> {
    const employeeId = event.employee.id;
    const workflowId = entityWorkflowId(employeeId);
    // An extension of a running contract only moves the entity workflow's timers.
    const handler = event.type === 'contract_extension' ? null : WORKFLOW_FOR_EVENT[event.type];
    const eventWorkflowId = handler ? `${handler}-${employeeId}-${event.id}` : null;
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      // A concurrent delivery of the same id waits here on the primary key until this one commits.
      const inserted = await db.query(
        `INSERT INTO hr_events (event_id, employee_id, type, source, workflow_id, payload) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        [event.id, employeeId, event.type, event.source, workflowId, rawBody],
      );
      const audit = (result: string, detail: Record<string, unknown>) =>
        db.query(
          `INSERT INTO audit_log (employee_id, event_id, workflow_id, kind, action, result, detail) VALUES ($1, $2, $3, 'delivery', $4, $5, $6)`,
          [employeeId, event.id, workflowId, event.type, result, JSON.stringify(detail)],
        );
      if (!inserted.rowCount) {
        const seen = await db.query(`UPDATE hr_events SET deliveries = deliveries + 1 WHERE event_id = $1 RETURNING deliveries`, [event.id]);
        await audit('redelivery', { source: event.source, delivery: seen.rows[0]?.deliveries });
        await db.query('COMMIT');
        logger.info({ eventId: event.id, employeeId, workflowId }, 'redelivery ignored');
        return { status: 200, body: { status: 'duplicate', eventId: event.id, workflowId, eventWorkflowId } };
      }
      await temporal.workflow.signalWithStart('employeeLifecycle', {
        workflowId,
        taskQueue,
        args: [{ employeeId }],
        signal: hrEventSignal,
        signalArgs: [event],
        typedSearchAttributes: [{ key: EmployeeIdKey, value: employeeId }],
        memo: { summary: `HR lifecycle of employee ${employeeId}` },
      });
      await db.query(`UPDATE hr_events SET submitted_at = now() WHERE event_id = $1`, [event.id]);
      await audit('accepted', { source: event.source, delivery: 1 });
      await db.query('COMMIT');
      logger.info({ eventId: event.id, employeeId, workflowId, type: event.type }, 'event accepted');
      return { status: 202, body: { status: 'accepted', eventId: event.id, workflowId, eventWorkflowId } };
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  app.post('/events', async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const headers = req.headers as Record<string, unknown>;
    const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
    const send = (o: Outcome) => reply.code(o.status).send(o.body);

    const signature = verifyEventSignature(webhookSecret, raw, header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER));
    if (!signature.ok) return send(await reject('/events', 'api', 401, signature.reason, headers, raw));

    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      return send(await reject('/events', 'api', 400, `body is not JSON: ${(err as Error).message}`, headers, raw, { field: '(body)' }));
    }
    const parsed = HrEvent.safeParse(json);
    if (!parsed.success) {
      const { field, message, issues } = describeInvalid(parsed.error);
      return send(await reject('/events', 'api', 400, message, headers, raw, { field, issues }));
    }
    try {
      return send(await accept(parsed.data, raw));
    } catch (err) {
      logger.error({ eventId: parsed.data.id, err: (err as Error).message, cause: String((err as Error).cause ?? '') }, 'could not hand the event to Temporal');
      return send(await reject('/events', 'api', 503, `the workflow engine did not take the event; retry later (${(err as Error).message})`, headers, raw));
    }
  });

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
