import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../workflows/definitions';

// Where hrsync finds everything it talks to: the environment first, then the runtime file that
// `hrsync start` writes for the embedded stack, then the documented local defaults (SPEC §8).

export const STATE_DIR = resolve(process.env.HRSYNC_HOME ?? '.hrsync');
const RUNTIME_FILE = () => join(STATE_DIR, 'runtime.json');

export const DEFAULT_PORTS = { bridge: 8080, temporal: 7233, temporalUi: 8233, hris: 8081, lms: 8082, llm: 8083, embeddedPostgres: 5433, workerMetrics: 9464 };

const Runtime = z.object({
  temporalAddress: z.string().optional(),
  temporalUiUrl: z.string().optional(),
  databaseUrl: z.string().optional(),
  embeddedDatabase: z.boolean().optional(),
  bridgeUrl: z.string().optional(),
  webhookSecret: z.string().optional(),
  surfaces: z.object({ bamboohrWebhookKey: z.string().optional(), oktaHookSecret: z.string().optional(), scimToken: z.string().optional(), lmsWebhookSecret: z.string().optional() }).optional(),
  hris: z.object({ baseUrl: z.string(), company: z.string(), apiKey: z.string() }).optional(),
  lms: z
    .object({ vendor: z.string().optional(), baseUrl: z.string(), clientId: z.string(), clientSecret: z.string(), username: z.string().optional(), password: z.string().optional(), apiKey: z.string().optional() })
    .optional(),
  pid: z.number().optional(),
});
export type RuntimeFile = z.infer<typeof Runtime>;

export function readRuntimeFile(): RuntimeFile {
  if (!existsSync(RUNTIME_FILE())) return {};
  const parsed = Runtime.safeParse(JSON.parse(readFileSync(RUNTIME_FILE(), 'utf8')));
  return parsed.success ? parsed.data : {};
}

export function writeRuntimeFile(runtime: RuntimeFile): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(RUNTIME_FILE(), JSON.stringify(runtime, null, 2), { mode: 0o600 });
}

export interface HrsyncConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  databaseUrl: string | undefined;
  embeddedDatabase: boolean;
  bridgeUrl: string;
  bridgePort: number;
  webhookSecret: string | undefined;
  /** Secrets of the vendor surfaces of the bridge; a surface without one answers 503. */
  surfaces: { bamboohrWebhookKey?: string; oktaHookSecret?: string; scimToken?: string; lmsWebhookSecret?: string };
  hris: { baseUrl: string; company: string; apiKey: string };
  ai: { apiKey?: string; baseUrl?: string; model: string; timeoutMs: number };
  /** The organisation file; unset: the bundled sample. */
  organisationPath: string | undefined;
  /**
   * The LMS and its adapter (activities/lms-vendors.ts): Docebo-style takes the OAuth2 client,
   * Absorb-style an admin's username and password and the portal's API key.
   */
  lms: { vendor: LmsVendor; baseUrl: string; clientId: string; clientSecret: string; username?: string; password?: string; apiKey?: string };
}

/** The LMS vendors hrsync has an adapter (and a simulator) for; LMS_VENDOR picks one. */
export const LMS_VENDORS = ['docebo', 'absorb'] as const;
export type LmsVendor = (typeof LMS_VENDORS)[number];

export function lmsVendor(value: string | undefined): LmsVendor {
  const vendor = (value ?? '').trim().toLowerCase() || 'docebo';
  if (!(LMS_VENDORS as readonly string[]).includes(vendor)) throw new Error(`LMS_VENDOR must be one of ${LMS_VENDORS.join(', ')}; got "${value}"`);
  return vendor as LmsVendor;
}

const integer = (value: string | undefined, fallback: number, name: string, max: number, what: string) => {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be ${what}, got "${value}"`);
  return n;
};
const port = (value: string | undefined, fallback: number, name: string) => integer(value, fallback, name, 65535, 'a port number');

export function loadConfig(env: NodeJS.ProcessEnv = process.env, runtime: RuntimeFile = readRuntimeFile()): HrsyncConfig {
  const bridgePort = port(env.HRSYNC_PORT, DEFAULT_PORTS.bridge, 'HRSYNC_PORT');
  return {
    temporalAddress: env.TEMPORAL_ADDRESS || runtime.temporalAddress || `127.0.0.1:${DEFAULT_PORTS.temporal}`,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.HRSYNC_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    databaseUrl: env.DATABASE_URL || runtime.databaseUrl,
    embeddedDatabase: !env.DATABASE_URL && !!runtime.embeddedDatabase,
    bridgeUrl: env.HRSYNC_URL || runtime.bridgeUrl || `http://127.0.0.1:${bridgePort}`,
    bridgePort,
    webhookSecret: env.HRSYNC_WEBHOOK_SECRET || runtime.webhookSecret,
    surfaces: {
      bamboohrWebhookKey: env.BAMBOOHR_WEBHOOK_KEY || runtime.surfaces?.bamboohrWebhookKey || undefined,
      oktaHookSecret: env.OKTA_EVENT_HOOK_SECRET || runtime.surfaces?.oktaHookSecret || undefined,
      scimToken: env.SCIM_BEARER_TOKEN || runtime.surfaces?.scimToken || undefined,
      lmsWebhookSecret: env.LMS_WEBHOOK_SECRET || runtime.surfaces?.lmsWebhookSecret || undefined,
    },
    hris: {
      baseUrl: env.HRIS_BASE_URL || runtime.hris?.baseUrl || `http://127.0.0.1:${DEFAULT_PORTS.hris}`,
      company: env.HRIS_COMPANY || runtime.hris?.company || 'gulfcoast',
      apiKey: env.HRIS_API_KEY || runtime.hris?.apiKey || '',
    },
    organisationPath: env.HRSYNC_CONFIG || undefined,
    ai: {
      apiKey: env.OPENAI_API_KEY || undefined,
      baseUrl: env.OPENAI_BASE_URL || undefined,
      model: env.OPENAI_MODEL || 'gpt-4o-mini',
      timeoutMs: integer(env.HRSYNC_AI_TIMEOUT_MS, 20_000, 'HRSYNC_AI_TIMEOUT_MS', 600_000, 'milliseconds (at most 600000)'),
    },
    lms: {
      vendor: lmsVendor(env.LMS_VENDOR || runtime.lms?.vendor),
      baseUrl: env.LMS_BASE_URL || runtime.lms?.baseUrl || `http://127.0.0.1:${DEFAULT_PORTS.lms}`,
      clientId: env.LMS_CLIENT_ID || runtime.lms?.clientId || 'hrsync',
      clientSecret: env.LMS_CLIENT_SECRET || runtime.lms?.clientSecret || '',
      username: env.LMS_USERNAME || runtime.lms?.username || undefined,
      password: env.LMS_PASSWORD || runtime.lms?.password || undefined,
      apiKey: env.LMS_API_KEY || runtime.lms?.apiKey || undefined,
    },
  };
}

/** Where the worker serves GET /metrics (HRSYNC_WORKER_METRICS_PORT; 0: a free port). */
export function workerMetricsPort(env: NodeJS.ProcessEnv = process.env): number {
  return port(env.HRSYNC_WORKER_METRICS_PORT, DEFAULT_PORTS.workerMetrics, 'HRSYNC_WORKER_METRICS_PORT');
}

/** Workflows a worker keeps in memory between tasks (HRSYNC_MAX_CACHED_WORKFLOWS, default 500). */
export function maxCachedWorkflows(env: NodeJS.ProcessEnv = process.env): number {
  return integer(env.HRSYNC_MAX_CACHED_WORKFLOWS, 500, 'HRSYNC_MAX_CACHED_WORKFLOWS', 1_000_000, 'a whole number of workflows (0: no cache)');
}

/** This worker's LMS request budget per second (LMS_REQUESTS_PER_SECOND; 0 or unset: none). */
export function lmsRequestsPerSecond(env: NodeJS.ProcessEnv = process.env): number {
  return integer(env.LMS_REQUESTS_PER_SECOND, 0, 'LMS_REQUESTS_PER_SECOND', 100_000, 'a whole number of requests per second (0: no limit)');
}

export function requireDatabaseUrl(config: HrsyncConfig): string {
  if (!config.databaseUrl) {
    throw new Error('No database: set DATABASE_URL, or run `npm start` (it serves an embedded PostgreSQL and records where in .hrsync/runtime.json).');
  }
  return config.databaseUrl;
}

/** Every environment variable hrsync reads, with what it is for (README and docker-compose follow this). */
export const ENVIRONMENT_VARIABLES: Record<string, string> = {
  TEMPORAL_ADDRESS: 'Temporal frontend host:port; unset: a local dev server persisted under .hrsync/',
  TEMPORAL_NAMESPACE: 'Temporal namespace (default "default")',
  HRSYNC_TASK_QUEUE: 'task queue of the workers (default "hrsync")',
  DATABASE_URL: 'PostgreSQL URL for the audit trail; unset: embedded PGlite under .hrsync/',
  HRSYNC_CONFIG: 'the organisation file (YAML or JSON); unset: the bundled sample organisation',
  HRSYNC_WEBHOOK_SECRET: 'HMAC secret for POST /events; unset under `hrsync start`: generated into .hrsync/runtime.json',
  HRSYNC_COMPLETION_POLL_CRON: 'when the worker polls the LMS for completions (cron, UTC; default */15 * * * *; off: never)',
  LMS_WEBHOOK_SECRET: 'secret of the LMS completion webhook (X-Docebo-Signature: sha256 HMAC of the body); unset: POST /webhooks/lms answers 503',
  BAMBOOHR_WEBHOOK_KEY: 'private key of the BambooHR webhook (HMAC-SHA256 of body + timestamp); unset: POST /webhooks/bamboohr answers 503',
  OKTA_EVENT_HOOK_SECRET: 'the Authorization header value set on the Okta event hook; unset: /webhooks/okta answers 503',
  SCIM_BEARER_TOKEN: 'the bearer token the identity provider sends to /scim/v2; unset: SCIM answers 503',
  SFTP_HOST: 'SFTP server of the nightly HRIS CSV export; unset: no batch poller',
  SFTP_PORT: 'SFTP port (default 22)',
  SFTP_USERNAME: 'SFTP user',
  SFTP_PASSWORD: 'SFTP password (or SFTP_PRIVATE_KEY_FILE)',
  SFTP_PRIVATE_KEY_FILE: 'path to an OpenSSH/PEM private key for SFTP',
  SFTP_PRIVATE_KEY_PASSPHRASE: 'passphrase of that key',
  SFTP_HOST_KEY_SHA256: 'the SFTP server host key fingerprint, SHA256:… as ssh-keygen -lf prints it (unset: any key, with a warning)',
  SFTP_DIRECTORY: 'folder the exports are dropped in (default /outbound)',
  SFTP_PROCESSED_DIRECTORY: 'where processed files are moved (default <folder>/processed)',
  SFTP_FAILED_DIRECTORY: 'where unusable files are moved (default <folder>/failed)',
  SFTP_POLL_INTERVAL_MS: 'how often the folder is polled (default 300000)',
  HRSYNC_RECONCILE_CRON: 'when the nightly reconciliation runs, a cron expression in UTC (default "0 2 * * *"); "off": no schedule',
  HRSYNC_PORT: 'port of the bridge (default 8080)',
  HRSYNC_MAX_CACHED_WORKFLOWS: 'workflows a worker keeps in memory between tasks (default 500; each idle employee workflow costs memory, an evicted one replays its history on its next event)',
  LMS_REQUESTS_PER_SECOND: 'LMS requests per second this worker process makes at most, spaced evenly (default 0: no limit; with N replicas give each 1/N of the LMS limit)',
  HRSYNC_WORKER_METRICS_PORT: 'port of the worker\'s Prometheus endpoint GET /metrics (default 9464; 0: a free port)',
  HRSYNC_BIND: 'address `hrsync bridge` and `hrsync worker` listen on (default 0.0.0.0; `hrsync start` listens on 127.0.0.1)',
  HRSYNC_URL: 'where `hrsync event` sends events (default http://127.0.0.1:$HRSYNC_PORT)',
  HRSYNC_HOME: 'state folder of the embedded stack (default .hrsync)',
  HRIS_BASE_URL: 'BambooHR-style API base URL; unset under `hrsync start`: the HRIS simulator',
  HRIS_COMPANY: 'BambooHR company subdomain',
  HRIS_API_KEY: 'BambooHR API key',
  LMS_VENDOR: 'which LMS adapter: docebo (Docebo-style, the default) or absorb (Absorb-style)',
  LMS_BASE_URL: 'the LMS API base URL; unset under `hrsync start`: the simulator of LMS_VENDOR',
  LMS_CLIENT_ID: 'LMS OAuth2 client id (docebo)',
  LMS_CLIENT_SECRET: 'LMS OAuth2 client secret (docebo)',
  LMS_USERNAME: 'the LMS admin the API logs in as (absorb)',
  LMS_PASSWORD: 'that admin\'s password (absorb)',
  LMS_API_KEY: 'the LMS portal\'s Integration API private key, sent as x-api-key (absorb)',
  OPENAI_API_KEY: 'key of an OpenAI-compatible endpoint for the AI mapper; unset: the deterministic mapper',
  OPENAI_BASE_URL: 'base URL of an OpenAI-compatible endpoint (default https://api.openai.com/v1)',
  OPENAI_MODEL: 'model for the AI mapper (default gpt-4o-mini)',
  HRSYNC_AI_TIMEOUT_MS: 'how long the AI mapper waits for the model before the deterministic mapper answers (default 20000)',
  LOG_LEVEL: 'pino log level (default info)',
};

/** The nightly reconciliation's cron, or null when the schedule is switched off. */
function cronSetting(value: string | undefined, fallback: string): string | null {
  const v = (value ?? '').trim();
  if (v.toLowerCase() === 'off') return null;
  return v || fallback;
}

export function reconcileCron(env: NodeJS.ProcessEnv = process.env): string | null {
  return cronSetting(env.HRSYNC_RECONCILE_CRON, '0 2 * * *');
}

/** The completion poller's cron (default every 15 minutes; `off` for none, e.g. with LMS webhooks only). */
export function completionPollCron(env: NodeJS.ProcessEnv = process.env): string | null {
  return cronSetting(env.HRSYNC_COMPLETION_POLL_CRON, '*/15 * * * *');
}
