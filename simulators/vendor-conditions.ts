import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { describeInvalid } from '../domain/hr-event';

// What a vendor's API does to its callers besides answering: injected faults and a rate limit
// (429 + Retry-After), shared by the LMS simulators, with their test controls.

export const Fault = z
  .object({
    status: z.number().int().min(400).max(599),
    /** How many API calls get this answer; unlimited while `probability` is set. */
    count: z.number().int().positive().optional(),
    /** Answer this share of API calls with the fault (0..1) instead of a fixed count. */
    probability: z.number().min(0).max(1).optional(),
    retryAfterSeconds: z.number().nonnegative().optional(),
    /** Only calls with this method and path prefix get the fault, e.g. POST /learn/v1/enrollments. */
    method: z.string().optional(),
    pathPrefix: z.string().startsWith('/').optional(),
  })
  .strict();
export type Fault = z.infer<typeof Fault>;

/** The body of `POST /sim/rate-limit`: API calls a second the simulator answers before 429 (0: no limit). */
export const RateLimit = z.object({ perSecond: z.number().nonnegative() }).strict();

/** A simulator control's body, parsed; otherwise a 400 that names the field. */
function controlBody<T>(schema: z.ZodType<T>, req: FastifyRequest, reply: FastifyReply): T | undefined {
  const parsed = schema.safeParse(req.body);
  if (parsed.success) return parsed.data;
  const { field, message } = describeInvalid(parsed.error);
  void reply.code(400).send({ error: message, field });
  return undefined;
}

export function vendorConditions(rateLimitPerSecond = 0) {
  const faults: Fault[] = [];
  const bucket = { perSecond: rateLimitPerSecond, tokens: rateLimitPerSecond, at: Date.now() };
  const setRateLimit = (perSecond: number) => void (bucket.perSecond = bucket.tokens = perSecond);
  return {
    faults,
    injectFault: (fault: Fault) => void faults.push({ ...fault }),
    clearFaults: () => void (faults.length = 0),
    setRateLimit,
    /** The fault this call draws, if any (a counted fault is used up as it is drawn). */
    drawFault(method: string, url: string): Fault | undefined {
      const index = faults.findIndex((f) => (f.method ?? method) === method && url.startsWith(f.pathPrefix ?? ''));
      const fault = faults[index];
      if (!fault) return undefined;
      if (fault.probability !== undefined) return Math.random() < fault.probability ? fault : undefined;
      if (fault.count !== undefined && --fault.count <= 0) faults.splice(index, 1);
      return fault;
    },
    /** Seconds to wait before a call is allowed, 0 when it may go ahead (and is counted). */
    throttle(): number {
      if (bucket.perSecond <= 0) return 0;
      const t = Date.now();
      bucket.tokens = Math.min(bucket.perSecond, bucket.tokens + ((t - bucket.at) / 1000) * bucket.perSecond);
      bucket.at = t;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.perSecond));
    },
    /** `POST`/`DELETE /sim/faults` and `POST /sim/rate-limit`; not part of any vendor API. */
    registerControls(app: FastifyInstance): void {
      app.post('/sim/faults', async (req, reply) => {
        const fault = controlBody(Fault, req, reply);
        if (!fault) return reply;
        faults.push(fault);
        return { faults };
      });
      app.delete('/sim/faults', async () => {
        faults.length = 0;
        return { faults };
      });
      app.post('/sim/rate-limit', async (req, reply) => {
        const limit = controlBody(RateLimit, req, reply);
        if (!limit) return reply;
        setRateLimit(limit.perSecond);
        return { perSecond: bucket.perSecond };
      });
    },
  };
}
