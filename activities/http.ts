import { ApplicationFailure } from '@temporalio/common';
import Bottleneck from 'bottleneck';
import { countVendorRequest } from '../stack/metrics';

// How every vendor adapter talks HTTP: failures become Temporal failures that say whether a retry
// can help, and a Retry-After from the vendor becomes the next retry delay, so Temporal's retry
// policy (not a loop here) waits it out without hammering the vendor.

export interface VendorRequest {
  system: string;
  method?: string;
  url: string;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  /** Statuses the caller handles itself instead of failing. */
  accept?: number[];
  timeoutMs?: number;
}

export interface VendorResponse<T = unknown> {
  status: number;
  body: T;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(seconds, 0) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(at - Date.now(), 0);
}

// A vendor's request budget (LMS_REQUESTS_PER_SECOND), shared by every activity of this worker
// process: requests are spaced evenly, so a burst of work (a reorganisation) queues here instead
// of earning 429s and retry delays. With N worker replicas give each 1/N of the vendor's limit.
const pacers = new Map<string, Bottleneck>();

/** Spaces this process's requests to `system` at most `perSecond` a second (0 or undefined: no limit). */
export function setVendorRateLimit(system: string, perSecond: number | undefined): void {
  pacers.get(system)?.disconnect();
  pacers.delete(system);
  if (perSecond && perSecond > 0) pacers.set(system, new Bottleneck({ minTime: 1000 / perSecond }));
}

export async function callVendor<T = unknown>(req: VendorRequest): Promise<VendorResponse<T>> {
  const pacer = pacers.get(req.system);
  if (pacer) await pacer.schedule(async () => undefined);
  const method = req.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let body: string | undefined;
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  } else if (req.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(req.form).toString();
  }
  const what = `${req.system} ${method} ${new URL(req.url).pathname}`;
  let res: Response;
  try {
    res = await fetch(req.url, { method, headers, body, signal: AbortSignal.timeout(req.timeoutMs ?? 15_000) });
  } catch (err) {
    countVendorRequest(req.system, 'unreachable');
    throw ApplicationFailure.create({ message: `${what} failed: ${(err as Error).message}`, type: 'VendorUnreachable' });
  }
  countVendorRequest(req.system, res.status);
  const text = await res.text();
  if (res.ok || req.accept?.includes(res.status)) {
    let parsed: unknown = text;
    if (text && (res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T };
  }
  const message = `${what} answered ${res.status}: ${text.slice(0, 300)}`;
  if (res.status === 429) {
    const wait = retryAfterMs(res.headers.get('retry-after'));
    throw ApplicationFailure.create({ message, type: 'VendorRateLimited', nextRetryDelay: wait !== undefined ? Math.max(wait, 100) : undefined });
  }
  if (res.status >= 500 || res.status === 408) {
    const wait = retryAfterMs(res.headers.get('retry-after'));
    throw ApplicationFailure.create({ message, type: 'VendorUnavailable', nextRetryDelay: wait });
  }
  // Any other 4xx will not get better by asking again.
  throw ApplicationFailure.create({ message, type: 'VendorRejected', nonRetryable: true, details: [{ status: res.status }] });
}
