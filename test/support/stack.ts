import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { resultWhenStarted } from '../../client/results';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createBridge } from '../../client/bridge';
import { signEvent } from '../../client/signing';
import type { HrEvent } from '../../domain/hr-event';
import { loadOrganisation } from '../../domain/load-organisation';
import type { HrsyncConfig } from '../../stack/config';
import { createPool } from '../../stack/database';
import { serve } from '../../stack/http';
import { hrsyncEnvironment, killHard, spawnWorkerProcess } from '../../stack/processes';
import { connectSystems } from '../../stack/systems';
import { bambooHr } from '../../activities/hris';
import { docebo } from '../../activities/lms';
import { startHrisSimulator } from '../../simulators/hris';
import { startLmsSimulator, type LmsSimulatorOptions } from '../../simulators/lms';
import { createHrsyncWorker } from '../../workers/worker';
import { decideUpdate, lifecycleQuery, pendingApprovalQuery } from '../../workflows/definitions';

export const organisation = loadOrganisation();

export interface StackOptions {
  lms?: LmsSimulatorOptions;
  /** A Temporal server of the test's own (one it restarts); default: the run's shared dev server. */
  temporalAddress?: string;
  /** The AI mapper's endpoint (an LLM simulator); default: none, so the deterministic mapper answers. */
  ai?: HrsyncConfig['ai'];
  /** An organisation file of the test's own (short approval timers, say); default: the sample. */
  organisationPath?: string;
  /** Run a worker in this process (default); false when a test runs its own worker process. */
  worker?: boolean;
}

/** Simulators, a worker on its own task queue, and the bridge, against the run's real Temporal and PostgreSQL. */
export async function startTestStack(options: StackOptions = {}) {
  const temporalAddress = options.temporalAddress ?? inject('temporalAddress');
  const databaseUrl = inject('databaseUrl');
  const hris = await startHrisSimulator({ apiKey: randomBytes(8).toString('hex') });
  const lmsSecret = randomBytes(12).toString('hex');
  const lms = await startLmsSimulator({ courses: organisation.courses, branches: organisation.branches, clientSecret: lmsSecret, ...options.lms });
  const taskQueue = `test-${randomUUID()}`;
  const webhookSecret = randomBytes(16).toString('hex');
  const surfaceSecrets = { bamboohr: randomBytes(16).toString('hex'), okta: randomBytes(16).toString('hex'), scim: randomBytes(16).toString('hex'), lms: randomBytes(16).toString('hex') };
  const config: HrsyncConfig = {
    temporalAddress,
    temporalNamespace: 'default',
    taskQueue,
    databaseUrl,
    embeddedDatabase: false,
    bridgeUrl: '',
    bridgePort: 0,
    webhookSecret,
    surfaces: { bamboohrWebhookKey: surfaceSecrets.bamboohr, oktaHookSecret: surfaceSecrets.okta, scimToken: surfaceSecrets.scim, lmsWebhookSecret: surfaceSecrets.lms },
    hris: { baseUrl: hris.url, company: hris.company, apiKey: hris.apiKey },
    lms: { vendor: 'docebo', baseUrl: lms.url, clientId: 'hrsync', clientSecret: lmsSecret },
    ai: options.ai ?? { model: 'none', timeoutMs: 2000 },
    organisationPath: options.organisationPath,
  };
  const pool = createPool(databaseUrl);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });

  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  if (options.worker !== false) {
    nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    worker = await createHrsyncWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      systems: connectSystems(config, pool, client),
      workflowBundlePath: inject('workflowBundlePath'),
    });
    workerRun = worker.run();
  }

  const bridgeApp = createBridge({ temporal: client, pool, taskQueue, secrets: { webhook: webhookSecret, ...surfaceSecrets }, hris: bambooHr(config.hris), lms: docebo(config.lms), logger: pino({ level: 'silent' }) });
  const bridge = await serve(bridgeApp);
  config.bridgeUrl = bridge.url;

  async function postEvent(event: HrEvent | string, opts: { secret?: string; timestamp?: number; headers?: Record<string, string> } = {}) {
    const raw = typeof event === 'string' ? event : JSON.stringify(event);
    const res = await fetch(`${bridge.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signEvent(opts.secret ?? webhookSecret, raw, opts.timestamp), ...opts.headers },
      body: raw,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const resultOf = <T = unknown>(workflowId: string, timeoutMs?: number) => resultWhenStarted<T>(client, workflowId, timeoutMs);

  async function auditRows(employeeId: string) {
    const res = await pool.query('SELECT * FROM audit_log WHERE employee_id = $1 ORDER BY id', [employeeId]);
    return res.rows as { kind: string; action: string; result: string; event_id: string; workflow_id: string; step: unknown; detail: unknown }[];
  }

  const learnersFor = (employeeId: string) => lms.snapshot().users.filter((u) => u.external_id === employeeId);

  /** Marks a course completed in the LMS, as a learner finishing it would. */
  async function complete(employeeId: string, courseCode: string, completedAt?: string) {
    const res = await fetch(`${lms.url}/sim/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ externalId: employeeId, courseCode, completedAt }) });
    if (!res.ok) throw new Error(`completion of ${courseCode} for ${employeeId}: ${res.status}`);
  }

  async function courseStaff(employeeId: string, courseCode: string, role: 'instructor' | 'author') {
    const res = await fetch(`${lms.url}/sim/course-staff`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ externalId: employeeId, courseCode, role }) });
    if (!res.ok) throw new Error(`course staff ${courseCode} for ${employeeId}: ${res.status}`);
  }

  const lifecycle = (employeeId: string) => client.workflow.getHandle(`employee-${employeeId}`).query(lifecycleQuery);

  /** Waits until the workflow asks for a decision, and returns what it waits on. */
  const pendingOn = (workflowId: string, timeoutMs = 60_000) =>
    eventually(() => client.workflow.getHandle(workflowId).query(pendingApprovalQuery).catch(() => null), `an approval request from ${workflowId}`, timeoutMs);

  /** Decides a pending approval as the CLI does (the `decide` update), once it is pending. */
  async function decideWhenPending(workflowId: string, decision: 'approve' | 'reject', approver: string, reason = 'checked in the test') {
    await pendingOn(workflowId);
    return client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, { args: [{ decision, approver, reason }] });
  }

  async function stop() {
    await bridge.close();
    if (worker) {
      worker.shutdown();
      await workerRun;
    }
    await nativeConnection?.close();
    await connection.close();
    await pool.end();
    await hris.close();
    await lms.close();
  }

  return { config, hris, lms, pool, client, bridge, taskQueue, webhookSecret, surfaceSecrets, postEvent, resultOf, auditRows, learnersFor, complete, courseStaff, lifecycle, pendingOn, decideWhenPending, stop };
}

export type TestStack = Awaited<ReturnType<typeof startTestStack>>;

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The environment an hrsync process (worker, CLI) needs to work against this stack. */
export function stackEnvironment(stack: TestStack, home: string): NodeJS.ProcessEnv {
  return hrsyncEnvironment(stack.config, home);
}

/** A worker in its own process (so a test can SIGKILL it), configured like `hrsync worker`. */
export function spawnWorker(stack: TestStack): ChildProcess {
  return spawnWorkerProcess(stackEnvironment(stack, mkdtempSync(join(tmpdir(), 'hrsync-worker-'))), { workflowBundlePath: inject('workflowBundlePath') });
}

/** Runs `hrsync …` as a separate process against the stack; never throws, answers code and output. */
export async function runHrsync(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, ['bin/hrsync.mjs', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolveRun({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export { killHard };
