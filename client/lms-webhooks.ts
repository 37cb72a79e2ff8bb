import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { describeInvalid } from '../domain/hr-event';
import { Completion } from '../domain/learning';
import { parseBody, type BridgeContext } from './bridge';

// Completions from the LMS (Docebo-style webhooks): `course.enrollment.completed`, signed
// X-Docebo-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>. The payload names the LMS's user
// id, so the person is resolved through the LMS (an LMS that does not answer gets a 503, and
// Docebo retries). A completion is taken once whichever path (webhook, redelivery, poller) brings
// it, so there is no timestamp window: a replayed message is a duplicate and starts nothing.

export const LMS_WEBHOOK_SOURCE = 'lms';
const ENDPOINT = '/webhooks/lms';

const Message = z.object({
  event: z.string().min(1),
  message_id: z.string().min(1),
  fired_at: z.string().optional(),
  payload: z.object({
    user_id: z.union([z.string().min(1), z.number()]),
    course_code: z.string().min(1, 'must name the course code'),
    completion_date: z.string().min(1),
    score: z.union([z.number(), z.string(), z.null()]).optional(),
  }),
});

function verify(secret: string, raw: string, header: string | undefined): string | null {
  if (!header) return 'missing X-Docebo-Signature';
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header);
  if (!match) return 'X-Docebo-Signature is not of the form sha256=<hex>';
  const expected = createHmac('sha256', secret).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex')) ? null : 'signature does not match';
}

/** Docebo writes "2026-11-22 10:15:00" (UTC) as often as ISO 8601. */
const isoInstant = (text: string) => {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
};

export function registerLmsWebhooks(app: FastifyInstance, ctx: BridgeContext): void {
  app.post(ENDPOINT, async (req, reply) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const headers = req.headers as Record<string, unknown>;
    const reject = async (status: number, reason: string, extra?: Record<string, unknown>) => ctx.send(reply, await ctx.reject(ENDPOINT, LMS_WEBHOOK_SOURCE, status, reason, headers, raw, extra));

    if (!ctx.secrets.lms || !ctx.lms) return reject(503, 'LMS webhooks are not configured: set LMS_WEBHOOK_SECRET');
    const problem = verify(ctx.secrets.lms, raw, typeof headers['x-docebo-signature'] === 'string' ? headers['x-docebo-signature'] : undefined);
    if (problem) return reject(401, problem);
    const parsed = parseBody(raw, Message);
    if (!parsed.ok) return reject(400, parsed.reason, parsed.extra);
    const { event, payload } = parsed.data;
    // Other events of a webhook subscribed to more than completions: kept, nothing to do.
    if (event !== 'course.enrollment.completed') {
      await ctx.keep(LMS_WEBHOOK_SOURCE, ENDPOINT, headers, raw, [], `event ${event} ignored`);
      return reply.code(200).send({ status: 'ignored', event });
    }
    const completedAt = isoInstant(payload.completion_date);
    if (!completedAt) return reject(400, `completion_date "${payload.completion_date}" is not a date-time`, { field: 'payload.completion_date' });
    let employeeId: string | null;
    try {
      employeeId = await ctx.lms.employeeIdOf(String(payload.user_id));
    } catch (err) {
      const e = err as { nonRetryable?: boolean; message: string };
      // An LMS that refuses the lookup is for a person to look at; one that does not answer, for the LMS to retry.
      if (e.nonRetryable) return reject(422, `the LMS refused to look up user ${payload.user_id}; held for review (${e.message})`, { field: 'payload.user_id' });
      return reject(503, `the LMS did not answer for user ${payload.user_id}; retry later (${e.message})`);
    }
    if (!employeeId) return reject(422, `LMS user ${payload.user_id} has no HRIS employee id; held for review`, { field: 'payload.user_id' });
    const score = payload.score === undefined || payload.score === null || payload.score === '' ? null : Number(payload.score);
    const completion = Completion.safeParse({ employeeId, courseId: payload.course_code, completedAt, score: Number.isFinite(score) ? score : null });
    if (!completion.success) {
      const { field, message } = describeInvalid(completion.error);
      return reject(400, message, { field: `payload.${field}` });
    }
    try {
      const taken = await ctx.takeCompletion(completion.data, LMS_WEBHOOK_SOURCE);
      await ctx.keep(LMS_WEBHOOK_SOURCE, ENDPOINT, headers, raw, [taken.completionKey], taken.status === 'duplicate' ? 'completion already taken' : undefined);
      return reply.code(taken.status === 'accepted' ? 202 : 200).send({ status: taken.status, completionKey: taken.completionKey, workflowId: taken.workflowId });
    } catch (err) {
      return reject(503, `the workflow engine did not take the completion; retry later (${(err as Error).message})`);
    }
  });
}
