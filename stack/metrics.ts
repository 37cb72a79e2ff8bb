import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { asyncLocalStorage as activityContext } from '@temporalio/activity';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AWAITING_APPROVAL, SyncStatusKey } from '../workflows/definitions';
import { logger } from './logger';

// Every Prometheus metric hrsync exposes (SPEC §6), in two registries: the bridge's (served on its
// GET /metrics) and the worker's (served by startWorkerMetricsServer, port
// HRSYNC_WORKER_METRICS_PORT, default 9464). `hrsync start` runs both in one process, and so do the
// tests, so the two are kept apart rather than sharing prom-client's global registry.
//
// Labels are bounded by construction: sources, endpoints and reasons are mapped onto short fixed
// sets; no id, name or free-text message ever becomes a label value.

export const bridgeRegistry = new Registry();
export const workerRegistry = new Registry();

// ---------------------------------------------------------------------------------------------
// The bridge

/** Where events come from; anything else a sender writes in `source` is counted as "other". */
const KNOWN_SOURCES = new Set(['api', 'bamboohr', 'okta', 'scim', 'sftp', 'csv', 'lms', 'lms-poll']);
export const sourceLabel = (source: string): string => (KNOWN_SOURCES.has(source.toLowerCase()) ? source.toLowerCase() : 'other');

const FIXED_ENDPOINTS = new Set(['/events', '/webhooks/bamboohr', '/webhooks/okta', '/webhooks/lms']);
const SCIM_ENDPOINT = /^(GET|POST|PUT|PATCH|DELETE) \/scim\/v2\/(Users|Groups|ServiceProviderConfig|ResourceTypes|Schemas)(\/[^/?]+)?$/;

/** A route, not a URL: SCIM ids become `:id`, unknown paths one "other". */
export function endpointLabel(endpoint: string): string {
  if (FIXED_ENDPOINTS.has(endpoint)) return endpoint;
  const scim = SCIM_ENDPOINT.exec(endpoint);
  if (scim) return `${scim[1]} /scim/v2/${scim[2]}${scim[3] ? '/:id' : ''}`;
  return endpoint.includes('/scim/') ? 'scim-other' : 'other';
}

export type RejectReason =
  | 'signature' | 'not-json' | 'invalid' | 'not-found' | 'conflict' | 'held-for-review'
  | 'not-configured' | 'unavailable' | 'error' | 'other';

const REASON_BY_STATUS: Record<number, RejectReason> = {
  400: 'invalid',
  401: 'signature',
  403: 'signature',
  404: 'not-found',
  409: 'conflict',
  412: 'conflict',
  422: 'held-for-review',
  500: 'error',
  503: 'unavailable',
};

const parsesAsJson = (raw: string) => {
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
};

/**
 * The short reason of a rejection, from its status and the delivery, never from the message: 401
 * a missing, wrong or stale signature or token; 400 "not-json" for a body that does not parse,
 * else "invalid" (a field, a filter); 503 "not-configured" when the surface has no secret, else
 * "unavailable" (Temporal or the HRIS did not answer).
 */
export function rejectReason(status: number, rawBody: string, surfaceConfigured: boolean): RejectReason {
  if (status === 400 && rawBody.trim() && !parsesAsJson(rawBody)) return 'not-json';
  if (status === 503 && !surfaceConfigured) return 'not-configured';
  return REASON_BY_STATUS[status] ?? 'other';
}

export const bridgeMetrics = {
  eventsReceived: new Counter({
    name: 'hrsync_events_received_total',
    help: 'Canonical HR events taken by the bridge (new and redelivered), by source.',
    labelNames: ['source'],
    registers: [bridgeRegistry],
  }),
  eventsDuplicate: new Counter({
    name: 'hrsync_events_duplicate_total',
    help: 'Events taken whose id had been taken before (redeliveries): they start nothing. A subset of events_received_total.',
    labelNames: ['source'],
    registers: [bridgeRegistry],
  }),
  eventsRejected: new Counter({
    name: 'hrsync_events_rejected_total',
    help: 'Deliveries turned away (and dead-lettered), by source, endpoint, HTTP status and a short reason (signature, not-json, invalid, not-configured, unavailable, ...).',
    labelNames: ['source', 'endpoint', 'status', 'reason'],
    registers: [bridgeRegistry],
  }),
};

/** One event taken by the bridge's intake, from whichever surface: new or a redelivery. */
export function countTakenEvent(source: string, status: 'accepted' | 'duplicate'): void {
  bridgeMetrics.eventsReceived.inc({ source: sourceLabel(source) });
  if (status === 'duplicate') bridgeMetrics.eventsDuplicate.inc({ source: sourceLabel(source) });
}

// ---------------------------------------------------------------------------------------------
// The worker

export const workerMetrics = {
  workflowsCompleted: new Counter({
    name: 'hrsync_workflows_completed_total',
    help: 'Event workflows that recorded their outcome, by workflow (the HR event type) and outcome (applied, in-sync, rejected, failed, superseded).',
    labelNames: ['workflow', 'outcome'],
    registers: [workerRegistry],
  }),
  eventToLms: new Histogram({
    name: 'hrsync_event_to_lms_seconds',
    help: 'Time from the bridge receiving an HR event to its workflow recording the LMS changes as applied (includes any wait for an approval or an effective date), by workflow.',
    labelNames: ['workflow'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [workerRegistry],
  }),
  approvalsPending: new Gauge({
    name: 'hrsync_approvals_pending',
    help: `Running workflows waiting for a human decision (search attribute ${SyncStatusKey.name}="${AWAITING_APPROVAL}"), counted through Temporal visibility at scrape time (cached briefly).`,
    registers: [workerRegistry],
    async collect() {
      const value = await approvals.read();
      if (value !== undefined) this.set(value);
    },
  }),
};

// ---------------------------------------------------------------------------------------------
// Vendor calls, from whichever process makes them: inside an activity they are the worker's, else
// (the bridge reading the HRIS for a BambooHR webhook, the CLI) the bridge's.

const vendorRequestsHelp = 'HTTP requests to vendor systems (HRIS, LMS), by system and status: 2xx, 3xx, 5xx, the exact 4xx code (429: rate limited), or "unreachable".';
const vendorRequests = {
  bridge: new Counter({ name: 'hrsync_vendor_requests_total', help: vendorRequestsHelp, labelNames: ['system', 'status'], registers: [bridgeRegistry] }),
  worker: new Counter({ name: 'hrsync_vendor_requests_total', help: vendorRequestsHelp, labelNames: ['system', 'status'], registers: [workerRegistry] }),
};

export function vendorStatusLabel(status: number | 'unreachable'): string {
  if (status === 'unreachable') return status;
  return status >= 400 && status < 500 ? String(status) : `${Math.floor(status / 100)}xx`;
}

export function countVendorRequest(system: string, status: number | 'unreachable'): void {
  const role = activityContext.getStore() === undefined ? 'bridge' : 'worker';
  vendorRequests[role].inc({ system, status: vendorStatusLabel(status) });
}

// ---------------------------------------------------------------------------------------------
// approvals_pending: one visibility count per cache period however often Prometheus scrapes.

const APPROVALS_QUERY = `${SyncStatusKey.name} = "${AWAITING_APPROVAL}" AND ExecutionStatus = "Running"`;

const approvals = {
  temporal: undefined as Client | undefined,
  cacheMs: 15_000,
  timeoutMs: 5_000,
  last: undefined as { value: number; at: number } | undefined,
  inflight: undefined as Promise<number | undefined> | undefined,
  async read(): Promise<number | undefined> {
    const temporal = this.temporal;
    if (!temporal) return undefined;
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last.value;
    this.inflight ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        });
        const { count } = await Promise.race([temporal.workflow.count(APPROVALS_QUERY), timeout]);
        this.last = { value: count, at: Date.now() };
        return count;
      } catch (err) {
        // The gauge keeps its last value; the scrape itself still succeeds.
        logger.warn({ err: (err as Error).message }, 'could not count the approvals pending');
        return this.last?.value;
      } finally {
        clearTimeout(timer);
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  },
};

/** Where approvals_pending counts (the worker's Temporal client), and how long a count is reused. */
export function watchApprovals(temporal: Client, options: { cacheMs?: number } = {}): void {
  approvals.temporal = temporal;
  approvals.cacheMs = options.cacheMs ?? 15_000;
  approvals.last = undefined;
}

// ---------------------------------------------------------------------------------------------
// Serving

const withDefaults = new WeakSet<Registry>();

/** Adds the standard Node.js process metrics (CPU, memory, event loop, GC) to a registry once. */
export function enableDefaultMetrics(registry: Registry): void {
  if (withDefaults.has(registry)) return;
  withDefaults.add(registry);
  collectDefaultMetrics({ register: registry });
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A tiny HTTP server answering GET /metrics from one registry (port 0 picks a free port). */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  enableDefaultMetrics(registry);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => {
        logger.error({ err: err.message }, 'could not collect the metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${bound}/metrics`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface WorkerMetricsOptions {
  port: number;
  host?: string;
  /** The worker's Temporal client (Systems.intake.temporal): approvals_pending is counted through it. */
  temporal?: Client;
  /** How long an approvals_pending count is reused (default 15 s; 0: count on every scrape). */
  approvalsCacheMs?: number;
}

/** The worker's metrics endpoint: GET /metrics on HRSYNC_WORKER_METRICS_PORT (default 9464). */
export async function startWorkerMetricsServer(options: WorkerMetricsOptions): Promise<MetricsServer> {
  if (options.temporal) watchApprovals(options.temporal, { cacheMs: options.approvalsCacheMs });
  return serveMetrics(workerRegistry, options.port, options.host);
}
