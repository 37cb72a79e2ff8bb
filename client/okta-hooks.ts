import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { handOver } from '../activities/intake';
import { identityEventSignal } from '../workflows/definitions';
import { describeInvalid } from '../domain/hr-event';
import type { IdentityEvent } from '../domain/identity';
import { parseBody, type BridgeContext } from './bridge';

// Okta Event Hooks (SPEC §9): a one-time GET with X-Okta-Verification-Challenge answered with
// {"verification": …}; then POSTs authenticated by the Authorization value set on the hook (no
// HMAC), carrying batches of log events. Okta wants an answer within 3 s and delivers at least
// once, possibly out of order: events are deduplicated by uuid, handed (quickly) to the identity
// workflow of their login, which takes them in `published` order and resolves who they are about
// in Temporal, not here.

export const OKTA_SOURCE = 'okta';
const ENDPOINT = '/webhooks/okta';

const Target = z.object({ id: z.string().optional(), type: z.string(), alternateId: z.string().nullish(), displayName: z.string().nullish() });
const LogEvent = z.object({
  uuid: z.string().min(1),
  published: z.iso.datetime({ offset: true }),
  eventType: z.string().min(1),
  target: z.array(Target).default([]),
});
const Delivery = z.object({
  eventType: z.string().optional(),
  data: z.object({ events: z.array(z.unknown()).min(1, 'must carry at least one event') }),
});

const CHANGES: Record<string, IdentityEvent['change']> = {
  'user.lifecycle.create': 'user-created',
  'user.lifecycle.activate': 'user-activated',
  'user.lifecycle.reactivate': 'user-activated',
  'user.lifecycle.unsuspend': 'user-activated',
  'user.lifecycle.deactivate': 'user-deactivated',
  'user.lifecycle.suspend': 'user-suspended',
  'group.user_membership.add': 'group-added',
  'group.user_membership.remove': 'group-removed',
  'application.user_membership.add': 'app-added',
  'application.user_membership.remove': 'app-removed',
};

/** An Okta log event in hrsync's terms, or why it cannot be one. */
export function identityEventFromOkta(raw: unknown): { event: IdentityEvent } | { ignored: string } {
  const parsed = LogEvent.safeParse(raw);
  if (!parsed.success) return { ignored: `malformed event: ${describeInvalid(parsed.error).message}` };
  const e = parsed.data;
  const change = CHANGES[e.eventType];
  if (!change) return { ignored: `event type ${e.eventType} is not one hrsync acts on` };
  const user = e.target.find((t) => t.type === 'User');
  if (!user?.alternateId) return { ignored: `${e.eventType} names no user login` };
  const membership = e.target.find((t) => t.type === (change.startsWith('app') ? 'AppInstance' : 'UserGroup'));
  if ((change.startsWith('group') || change.startsWith('app')) && !membership?.displayName) return { ignored: `${e.eventType} names no ${change.startsWith('app') ? 'application' : 'group'}` };
  return {
    event: { uuid: e.uuid, provider: OKTA_SOURCE, published: e.published, change, login: user.alternateId, group: membership?.displayName ?? undefined },
  };
}

/** The identity workflow of a login; the login itself (an email) stays out of workflow ids. */
export const identityWorkflowId = (provider: string, login: string) => `identity-${provider}-${createHash('sha256').update(login.trim().toLowerCase()).digest('hex').slice(0, 20)}`;

/**
 * Takes one identity event once per provider uuid: recorded and signalled to the login's identity
 * workflow in one transaction (a failure to reach Temporal records nothing). False for a redelivery.
 */
async function takeIdentityEvent(ctx: BridgeContext, event: IdentityEvent): Promise<boolean> {
  const workflowId = identityWorkflowId(event.provider, event.login);
  const db = await ctx.pool.connect();
  try {
    await db.query('BEGIN');
    const inserted = await db.query(
      `INSERT INTO identity_events (provider, uuid, change, workflow_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING uuid`,
      [event.provider, event.uuid, event.change, workflowId],
    );
    if (inserted.rowCount) {
      await handOver(ctx, () =>
        ctx.temporal.workflow.signalWithStart('identityLifecycle', {
          workflowId,
          taskQueue: ctx.taskQueue,
          args: [{ provider: event.provider }],
          signal: identityEventSignal,
          signalArgs: [event],
          memo: { summary: `identity-provider events of one ${event.provider} user, in published order` },
        }),
      );
    }
    await db.query('COMMIT');
    return !!inserted.rowCount;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

function authorised(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function registerOktaEventHooks(app: FastifyInstance, ctx: BridgeContext): void {
  app.get(ENDPOINT, async (req, reply) => {
    const headers = req.headers as Record<string, unknown>;
    const reject = async (status: number, reason: string) => ctx.send(reply, await ctx.reject(ENDPOINT, OKTA_SOURCE, status, reason, headers, ''));
    if (!ctx.secrets.okta) return reject(503, 'Okta event hooks are not configured: set OKTA_EVENT_HOOK_SECRET');
    if (!authorised(ctx.secrets.okta, req.headers.authorization)) return reject(401, 'Authorization does not match the event hook secret');
    const challenge = req.headers['x-okta-verification-challenge'];
    if (typeof challenge !== 'string' || !challenge) return reject(400, 'missing X-Okta-Verification-Challenge');
    return reply.code(200).send({ verification: challenge });
  });

  app.post(ENDPOINT, async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const headers = req.headers as Record<string, unknown>;
    const reject = async (status: number, reason: string, extra?: Record<string, unknown>) => ctx.send(reply, await ctx.reject(ENDPOINT, OKTA_SOURCE, status, reason, headers, raw, extra));
    if (!ctx.secrets.okta) return reject(503, 'Okta event hooks are not configured: set OKTA_EVENT_HOOK_SECRET');
    if (!authorised(ctx.secrets.okta, req.headers.authorization)) return reject(401, 'Authorization does not match the event hook secret');

    const delivery = parseBody(raw, Delivery);
    if (!delivery.ok) return reject(400, delivery.reason, delivery.extra);

    const mapped = delivery.data.data.events.map(identityEventFromOkta);
    const events = mapped.flatMap((m) => ('event' in m ? [m.event] : [])).sort((a, b) => a.published.localeCompare(b.published));
    const ignored = mapped.flatMap((m) => ('ignored' in m ? [m.ignored] : []));
    const started: string[] = [];
    const duplicates: string[] = [];
    for (const event of events) {
      const eventId = `${OKTA_SOURCE}-${event.uuid}`;
      try {
        const taken = await takeIdentityEvent(ctx, event);
        (taken ? started : duplicates).push(eventId);
      } catch (err) {
        return reject(503, `the workflow engine did not take the events; retry later (${(err as Error).message})`);
      }
    }
    await ctx.keep(OKTA_SOURCE, ENDPOINT, headers, raw, started, ignored.length ? `ignored: ${ignored.join('; ')}` : undefined);
    return reply.code(200).send({ accepted: started.length, duplicates: duplicates.length, ignored });
  });
}
