// Bounded fault injection on loopback: a batch of hires and terminations goes through the bridge
// while the LMS answers 429/503 to ~30% of calls, the LLM hangs, the worker process is SIGKILLed
// at random moments and the Temporal server (persisted to a file) is stopped and restarted.
// Faults are cleared at the end of the batch; then every person is checked: one LMS account at
// most, each course once, the LMS state equal to the desired state of the HRIS profile, every
// event the bridge took handled, and nothing but the employee workflows still running.
//
//   npm run chaos                                   # 60 people, 3 worker kills, 1 server restart
//   npm run chaos -- --people 200 --kills 5 --seed 7
//
// Everything is throwaway: a dev server on a temporary file, a database hrsync_chaos_<ts> on the
// PostgreSQL at DATABASE_URL (dropped afterwards), the simulators, the bridge in this process and
// the worker as a child process. Exits non-zero when anything is duplicated, lost or stuck.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Command } from 'commander';
import pg from 'pg';
import pino from 'pino';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bambooHr } from '../activities/hris';
import { docebo } from '../activities/lms';
import { createBridge } from '../client/bridge';
import { signEvent } from '../client/signing';
import { mappingForJobCode, withJobMapping, type JobMappingAnswer } from '../domain/ai';
import { isoDateOf } from '../domain/dates';
import type { EmployeeProfile, HrEvent } from '../domain/hr-event';
import { loadOrganisation } from '../domain/load-organisation';
import { stepKey } from '../domain/lms-state';
import { desiredLmsState, planChanges } from '../domain/plan';
import { startHrisSimulator } from '../simulators/hris';
import { LLM_SIMULATOR_MODEL, startLlmSimulator } from '../simulators/llm';
import { startLmsSimulator } from '../simulators/lms';
import { bambooRecord, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../simulators/roster';
import type { HrsyncConfig } from '../stack/config';
import { createPool, dropDatabase, ensureDatabase, migrate } from '../stack/database';
import { serve } from '../stack/http';
import { hrsyncEnvironment, killHard, spawnWorkerProcess } from '../stack/processes';
import { freePort, startDevServer, type DevServer } from '../stack/temporal';
import { WORKFLOWS_PATH } from '../workers/worker';
import { AWAITING_APPROVAL, entityWorkflowId, lifecycleQuery, SyncStatusKey } from '../workflows/definitions';
import type { SyncResult } from '../workflows/learner-sync';

export interface ChaosOptions {
  /** People hired in the batch; a third of them are terminated in it too. */
  people?: number;
  /** SIGKILLs of the worker process during the batch (each restarted a second later). */
  workerKills?: number;
  /** Stops and restarts of the Temporal dev server (same port, same database file) during the batch. */
  serverRestarts?: number;
  /**
   * How long the server stays down each time. The bridge's Temporal client retries for ~20 s
   * before the bridge answers 503, so a shorter outage is absorbed inside the bridge.
   */
  serverDownMs?: number;
  /** The share of LMS API calls answered 429 (Retry-After 1) or 503 during the batch. */
  lmsFaultRate?: number;
  /** LLM requests that hang until hrsync's AI timeout (default: a third of the AI-mapped hires). */
  llmTimeouts?: number;
  /** The pace of the sender (events per second); the batch is stretched so the faults fit in it. */
  eventsPerSecond?: number;
  /** How long the system may take to converge once the faults are cleared. */
  convergeTimeoutMs?: number;
  /** Picks the moments of the worker kills (the same seed, the same moments). */
  seed?: number;
  /** The PostgreSQL server the throwaway database is created on (an admin URL). */
  databaseUrl?: string;
  /** A prebuilt workflow bundle (the tests have one); otherwise one is built here. */
  workflowBundlePath?: string;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
}

export interface Finding {
  kind: 'duplicate' | 'lost' | 'stuck' | 'undelivered';
  employeeId: string;
  workflowId?: string;
  detail: string;
}

export interface ChaosReport {
  command: string;
  people: number;
  terminated: number;
  aiMapped: { people: number; byLlm: number; deterministic: number };
  events: { sent: number; accepted: number; answeredDuplicateAfterRetry: number; undelivered: number };
  lmsAccountsMatching: number;
  duplicates: number;
  lost: number;
  stuck: number;
  faults: {
    workerKills: number;
    /** Worker exits nobody asked for (restarted a second later as well). */
    workerCrashes: number;
    serverRestarts: number;
    serverDownMs: number[];
    lmsFaults: Record<string, number>;
    lmsApiCallsDuringBatch: number;
    llmTimeouts: number;
    bridgeRetries: number;
    eventsRetried: number;
    bridgeAnswersRetried: Record<string, number>;
    /** The first answer of each kind the sender retried after, as the bridge put it. */
    bridgeAnswerSamples: Record<string, string>;
  };
  workflows: Record<string, number>;
  durationsMs: { setup: number; batch: number; convergence: number; check: number; total: number };
  findings: Finding[];
  ok: boolean;
}

const DEFAULTS = { people: 60, workerKills: 3, serverRestarts: 1, serverDownMs: 25_000, lmsFaultRate: 0.3, eventsPerSecond: 2, convergeTimeoutMs: 300_000, seed: 1 };
/** The time each fault is given in the batch, at least. */
const FAULT_SLOT_MS = 6_000;
const AI_TIMEOUT_MS = 2_000;

/** Job titles the organisation's table does not know (a legacy HRIS code), all mapped with confidence. */
const AI_TITLES = [
  { jobTitle: 'Sr. Instrument Tech', department: 'MNT', site: 'BAY' },
  { jobTitle: 'Forklift Operator', department: 'LOG', site: 'DAY' },
  { jobTitle: 'Registered Nurse', department: 'CLS', site: 'CLN' },
  { jobTitle: 'Financial Analyst', department: 'FIN', site: 'HQ' },
  { jobTitle: 'Medical Assistant', department: 'CLS', site: 'CLN' },
];

interface Person {
  profile: EmployeeProfile;
  leaver: boolean;
  ai: boolean;
}

interface Delivery {
  event: HrEvent;
  /** 202 or 200 (taken before, by an attempt whose answer was lost); 0 when never taken. */
  status: number;
  attempts: number;
  eventWorkflowId: string | null;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A small seeded generator (mulberry32), so a run's fault moments can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every 4th person has a legacy job code (the AI mapper decides); every 3rd leaves in the batch. */
function workforce(count: number, today: string): Person[] {
  return Array.from({ length: count }, (_, i) => {
    const base = employeeProfile(i, SAMPLE_HIRES[i % SAMPLE_HIRES.length]!, today, 'X');
    const ai = i % 4 === 1;
    const profile = ai ? { ...base, ...AI_TITLES[Math.floor(i / 4) % AI_TITLES.length]!, jobCode: `LEGACY-${i}` } : base;
    return { profile, leaver: i % 3 === 2, ai };
  });
}

/**
 * When each fault happens, in ms from the start of the batch: the server restarts in the middle
 * (with its downtime), the worker kills at random moments in slots of their own around them.
 */
function faultTimeline(rng: () => number, batchMs: number, kills: number, restarts: number, downMs: number) {
  const slots = kills + restarts;
  const unit = (batchMs * 0.8 - restarts * downMs) / Math.max(slots, 1);
  const restartSlots = new Set(Array.from({ length: restarts }, (_, j) => Math.floor(((j + 0.5) * slots) / restarts)));
  let cursor = batchMs * 0.1;
  return Array.from({ length: slots }, (_, i) => {
    const restart = restartSlots.has(i);
    const at = Math.round(cursor + unit * (restart ? 0.3 : 0.15 + rng() * 0.6));
    cursor += unit + (restart ? downMs : 0);
    return { at, kind: restart ? ('server-restart' as const) : ('worker-kill' as const) };
  });
}

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & ChaosOptions;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const t0 = Date.now();
  const org = loadOrganisation();
  const dir = mkdtempSync(join(tmpdir(), 'hrsync-chaos-'));
  const adminUrl = o.databaseUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const databaseName = `hrsync_chaos_${Date.now()}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  let keepDir = false;

  try {
    // --- The throwaway stack, on loopback ---------------------------------------------------
    const port = await freePort();
    const startServer = () => startDevServer({ port, dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'temporal.log'), readyTimeoutMs: 120_000 });
    let server: DevServer = await startServer();
    cleanups.push(() => server.stop());

    const databaseUrl = await ensureDatabase(adminUrl, databaseName);
    cleanups.push(() => dropDatabase(adminUrl, databaseName));
    await migrate(databaseUrl);

    const hris = await startHrisSimulator({ apiKey: randomBytes(8).toString('hex') });
    cleanups.push(() => hris.close());
    const lmsSecret = randomBytes(12).toString('hex');
    const lms = await startLmsSimulator({ courses: org.courses, branches: org.branches, clientSecret: lmsSecret });
    cleanups.push(() => lms.close());
    const llm = await startLlmSimulator({ apiKey: randomBytes(8).toString('hex') });
    cleanups.push(() => llm.close());
    // The simulated model reads "Sr. Instrument Tech" as a senior technician with little confidence; this one knows better.
    await postJson(`${llm.url}/sim/answers`, {
      titleContains: 'Instrument Tech',
      answer: { ...mappingForJobCode(org, 'MNT-TEC'), confidence: 0.9, rationale: 'An instrument technician maintains the plant instruments: maintenance technician.' },
    });

    const webhookSecret = randomBytes(16).toString('hex');
    const config: HrsyncConfig = {
      temporalAddress: server.address,
      temporalNamespace: 'default',
      taskQueue: `chaos-${randomBytes(4).toString('hex')}`,
      databaseUrl,
      embeddedDatabase: false,
      bridgeUrl: '',
      bridgePort: 0,
      webhookSecret,
      surfaces: {},
      hris: { baseUrl: hris.url, company: hris.company, apiKey: hris.apiKey },
      lms: { vendor: 'docebo', baseUrl: lms.url, clientId: 'hrsync', clientSecret: lmsSecret },
      ai: { apiKey: llm.apiKey, baseUrl: `${llm.url}/v1`, model: LLM_SIMULATOR_MODEL, timeoutMs: AI_TIMEOUT_MS },
      organisationPath: undefined,
    };
    const pool = createPool(databaseUrl);
    cleanups.push(() => pool.end());
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const temporal = new Client({ connection });
    const bridge = await serve(createBridge({ temporal, pool, taskQueue: config.taskQueue, secrets: { webhook: webhookSecret }, hris: bambooHr(config.hris), logger: pino({ level: 'silent' }) }));
    cleanups.push(() => bridge.close());
    config.bridgeUrl = bridge.url;

    let workflowBundlePath = o.workflowBundlePath;
    if (!workflowBundlePath) {
      log('bundling the workflows…');
      const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error };
      const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet as never });
      workflowBundlePath = join(dir, 'workflow-bundle.js');
      writeFileSync(workflowBundlePath, bundle.code);
    }
    const worker = workerSupervisor({
      ...hrsyncEnvironment(config, join(dir, 'worker-home')),
      HRSYNC_RECONCILE_CRON: 'off',
      HRSYNC_COMPLETION_POLL_CRON: 'off',
      HRSYNC_WORKER_METRICS_PORT: '0',
      HRSYNC_AI_TIMEOUT_MS: String(AI_TIMEOUT_MS),
    }, workflowBundlePath, join(dir, 'worker.log'));
    cleanups.push(() => worker.stop());
    worker.start();
    const setupMs = Date.now() - t0;
    log(`stack up in ${(setupMs / 1000).toFixed(1)} s (Temporal ${server.address}, database ${databaseName}, bridge ${bridge.url}; logs in ${dir})`);

    // --- The batch, with faults -------------------------------------------------------------
    const today = isoDateOf(new Date());
    const people = workforce(o.people, today);
    const schedule = eventSchedule(people, today);
    const faultMs = FAULT_SLOT_MS * (o.workerKills + o.serverRestarts + 1) + o.serverRestarts * o.serverDownMs;
    const batchMs = Math.max((schedule.length / o.eventsPerSecond) * 1000, faultMs / 0.8);
    const timeline = faultTimeline(random(o.seed), batchMs, o.workerKills, o.serverRestarts, o.serverDownMs);
    const aiPeople = people.filter((p) => p.ai).length;
    const llmTimeouts = o.llmTimeouts ?? Math.ceil(aiPeople / 3);
    log(`batch: ${schedule.length} events for ${people.length} people over ~${(batchMs / 1000).toFixed(0)} s; faults: ${timeline.map((f) => `${f.kind} at ${(f.at / 1000).toFixed(1)} s`).join(', ')}`);

    const counters = { retries: 0, eventsRetried: 0, answers: {} as Record<string, number>, samples: {} as Record<string, string> };
    const send = sender(bridge.url, webhookSecret, counters);
    const batchStart = Date.now();
    const lmsCallsBefore = lms.stats.requests;

    // LMS: ~30% of API calls fail, alternating between 429 (Retry-After 1) and 503 every 2 s.
    let lmsStatus = 429;
    const injectLmsFault = () => {
      lms.clearFaults();
      if (o.lmsFaultRate > 0) lms.injectFault({ status: lmsStatus, probability: o.lmsFaultRate, ...(lmsStatus === 429 ? { retryAfterSeconds: 1 } : {}) });
      lmsStatus = lmsStatus === 429 ? 503 : 429;
    };
    injectLmsFault();
    const rotation = setInterval(injectLmsFault, 2_000);

    // The LLM hangs on the first few mapping requests of the batch (until hrsync's AI timeout).
    if (llmTimeouts > 0) await postJson(`${llm.url}/sim/mode`, { mode: 'timeout', count: llmTimeouts });

    const serverDownMs: number[] = [];
    const faults = (async () => {
      for (const fault of timeline) {
        await sleep(batchStart + fault.at - Date.now());
        if (fault.kind === 'worker-kill') {
          log(`  ${elapsed(batchStart)} SIGKILL the worker (pid ${worker.pid()})`);
          await worker.kill();
        } else {
          log(`  ${elapsed(batchStart)} stopping the Temporal server`);
          const down = Date.now();
          await server.stop();
          log(`  ${elapsed(batchStart)} Temporal server stopped`);
          await sleep(down + o.serverDownMs - Date.now());
          server = await startServer();
          serverDownMs.push(Date.now() - down);
          log(`  ${elapsed(batchStart)} Temporal server back after ${((Date.now() - down) / 1000).toFixed(1)} s`);
        }
      }
    })();

    const deliveries: Delivery[] = [];
    const hires = new Map<string, Promise<Delivery>>();
    const spacing = batchMs / schedule.length;
    const sending = schedule.map(async (item, i) => {
      await sleep(batchStart + i * spacing - Date.now());
      const { person, event } = item;
      if (event.type === 'hire') {
        hris.upsertEmployee(bambooRecord(person.profile));
        const delivery = send(event);
        hires.set(person.profile.id, delivery);
        deliveries.push(await delivery);
      } else {
        // A real sender keeps one person's events in order: the termination goes once the hire is taken.
        await hires.get(person.profile.id);
        hris.upsertEmployee(bambooRecord(person.profile, today));
        deliveries.push(await send(event));
      }
    });
    await Promise.all([...sending, faults]);
    const batchTook = Date.now() - batchStart;

    // Faults off: the system converges from here.
    clearInterval(rotation);
    lms.clearFaults();
    const llmState = (await (await fetch(`${llm.url}/sim/mode`)).json()) as { mode: string; remaining: number | null };
    const llmTimeoutsServed = llmTimeouts === 0 ? 0 : llmState.mode === 'timeout' ? llmTimeouts - (llmState.remaining ?? 0) : llmTimeouts;
    await postJson(`${llm.url}/sim/mode`, { mode: 'ok' });
    const lmsFaults = { '429': lms.stats.byStatus['429'] ?? 0, '503': lms.stats.byStatus['503'] ?? 0 };
    const lmsCalls = lms.stats.requests - lmsCallsBefore;
    log(`batch done in ${(batchTook / 1000).toFixed(1)} s: ${deliveries.filter((d) => d.status).length}/${schedule.length} events taken, ${counters.retries} bridge retries; LMS faults 429×${lmsFaults['429']} 503×${lmsFaults['503']} of ${lmsCalls} calls; ${llmTimeoutsServed} LLM timeouts`);

    // --- Convergence, then the checks -------------------------------------------------------
    const checker = convergenceChecker({ temporal, pool, lms, hris: bambooHr(config.hris), lmsPort: docebo(config.lms), org, people, deliveries });
    const convergeStart = Date.now();
    const deadline = convergeStart + o.convergeTimeoutMs;
    let settled = false;
    while (!settled && Date.now() < deadline) {
      settled = await checker.settled();
      if (!settled) await sleep(2_000);
    }
    const convergeTook = Date.now() - convergeStart;
    log(`${settled ? 'converged' : 'NOT converged'} ${(convergeTook / 1000).toFixed(1)} s after the faults were cleared; checking every person…`);
    const checkStart = Date.now();
    const outcome = await checker.findings();
    const checkTook = Date.now() - checkStart;

    const count = (kind: Finding['kind']) => outcome.findings.filter((f) => f.kind === kind).length;
    const report: ChaosReport = {
      command: '',
      people: people.length,
      terminated: people.filter((p) => p.leaver).length,
      aiMapped: { people: aiPeople, ...outcome.mappers },
      events: {
        sent: schedule.length,
        accepted: deliveries.filter((d) => d.status).length,
        answeredDuplicateAfterRetry: deliveries.filter((d) => d.status === 200).length,
        undelivered: count('undelivered'),
      },
      lmsAccountsMatching: outcome.matching,
      duplicates: count('duplicate'),
      lost: count('lost'),
      stuck: count('stuck'),
      faults: {
        workerKills: worker.kills(),
        workerCrashes: worker.crashes(),
        serverRestarts: serverDownMs.length,
        serverDownMs,
        lmsFaults,
        lmsApiCallsDuringBatch: lmsCalls,
        llmTimeouts: llmTimeoutsServed,
        bridgeRetries: counters.retries,
        eventsRetried: counters.eventsRetried,
        bridgeAnswersRetried: counters.answers,
        bridgeAnswerSamples: counters.samples,
      },
      workflows: outcome.workflows,
      durationsMs: { setup: setupMs, batch: batchTook, convergence: convergeTook, check: checkTook, total: Date.now() - t0 },
      findings: outcome.findings,
      ok: outcome.findings.length === 0,
    };
    keepDir = !report.ok;
    if (keepDir) log(`kept for a look: ${dir} (temporal.db, temporal.log, worker.log)`);
    return report;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => log(`cleanup: ${(err as Error).message}`));
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Hires in order; each leaver's termination a few events after their hire (some arrive while it still runs). */
function eventSchedule(people: Person[], today: string): { person: Person; event: HrEvent }[] {
  const LAG = 4;
  const termination = (person: Person) => ({
    person,
    event: lifecycleEvent('termination', person.profile, { id: `evt-term-${person.profile.id}`, termination: { date: today, reasonCode: 'RESIGNATION' } }),
  });
  const schedule: { person: Person; event: HrEvent }[] = [];
  people.forEach((person, i) => {
    schedule.push({ person, event: hireEvent(person.profile) });
    const leaving = people[i - LAG];
    if (leaving?.leaver) schedule.push(termination(leaving));
  });
  for (const person of people.slice(-LAG)) if (person.leaver) schedule.push(termination(person));
  return schedule;
}

/** POST /events as a real sender does it: signed, and retried on 5xx, timeouts and refused connections. */
function sender(bridgeUrl: string, secret: string, counters: { retries: number; eventsRetried: number; answers: Record<string, number>; samples: Record<string, string> }) {
  const GIVE_UP_MS = 180_000;
  return async (event: HrEvent): Promise<Delivery> => {
    const raw = JSON.stringify(event);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let answer: string;
      try {
        const res = await fetch(`${bridgeUrl}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signEvent(secret, raw) },
          body: raw,
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json().catch(() => ({}))) as { eventWorkflowId?: string | null; error?: string };
        if (res.status === 202 || res.status === 200) return { event, status: res.status, attempts: attempt, eventWorkflowId: body.eventWorkflowId ?? null };
        if (res.status < 500) return { event, status: 0, attempts: attempt, eventWorkflowId: null, error: `HTTP ${res.status}: ${body.error}` };
        answer = String(res.status);
        counters.samples[answer] ??= String(body.error ?? '').slice(0, 300);
      } catch (err) {
        answer = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network';
        counters.samples[answer] ??= (err as Error).message.slice(0, 300);
      }
      counters.answers[answer] = (counters.answers[answer] ?? 0) + 1;
      if (attempt === 1) counters.eventsRetried++;
      if (Date.now() - started > GIVE_UP_MS) return { event, status: 0, attempts: attempt, eventWorkflowId: null, error: `gave up after ${attempt} attempts (last: ${answer})` };
      counters.retries++;
      await sleep(Math.min(5_000, 250 * 2 ** attempt));
    }
  };
}

/** The worker child process: killed on demand and restarted a second later; an exit nobody asked for too. */
function workerSupervisor(env: NodeJS.ProcessEnv, workflowBundlePath: string, logFile: string) {
  let child: ChildProcess | undefined;
  let kills = 0;
  let crashes = 0;
  let stopping = false;
  const out = openSync(logFile, 'a');
  const start = () => {
    const mine = spawnWorkerProcess(env, { workflowBundlePath, stdio: ['ignore', out, out] });
    child = mine;
    mine.once('exit', () => {
      if (stopping || mine.signalCode === 'SIGKILL' || child !== mine) return;
      crashes++;
      setTimeout(() => !stopping && child === mine && start(), 1_000);
    });
  };
  return {
    start,
    pid: () => child?.pid,
    kills: () => kills,
    crashes: () => crashes,
    async kill() {
      await killHard(child);
      kills++;
      await sleep(1_000);
      start();
    },
    async stop() {
      stopping = true;
      await killHard(child);
    },
  };
}

interface CheckDeps {
  temporal: Client;
  pool: pg.Pool;
  lms: { snapshot(): { users: { user_id: string; external_id: string | null; enrollments: { course_code: string | null }[] }[] } };
  hris: ReturnType<typeof bambooHr>;
  lmsPort: ReturnType<typeof docebo>;
  org: ReturnType<typeof loadOrganisation>;
  people: Person[];
  deliveries: Delivery[];
}

/** Workflow status by id, or NOT_FOUND. */
async function statusOf(temporal: Client, workflowId: string): Promise<string> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

function convergenceChecker(deps: CheckDeps) {
  const { temporal, pool, lms, hris, lmsPort, org, people, deliveries } = deps;
  const taken = deliveries.filter((d) => d.status && d.eventWorkflowId);

  /** Open workflows other than the employee entities, with their HrsyncStatus. */
  async function openWorkflows() {
    const open: { workflowId: string; type: string; status: string | undefined }[] = [];
    for await (const wf of temporal.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
      if (wf.workflowId.startsWith('employee-')) continue;
      open.push({ workflowId: wf.workflowId, type: wf.type, status: wf.typedSearchAttributes.get(SyncStatusKey) });
    }
    return open;
  }

  /** The AI mapping the person's last completed sync applied, if any (the LMS should show that job). */
  async function appliedMapping(employeeId: string): Promise<JobMappingAnswer | null> {
    const mine = taken.filter((d) => d.event.employee.id === employeeId);
    for (const d of mine.reverse()) {
      if ((await statusOf(temporal, d.eventWorkflowId!)) !== 'COMPLETED') continue;
      const result = (await temporal.workflow.getHandle(d.eventWorkflowId!).result()) as SyncResult;
      if (!result.mapping || result.mapping.needsApproval) return null;
      const row = await pool.query('SELECT parsed FROM ai_decisions WHERE id = $1', [result.mapping.decisionId]);
      return (row.rows[0]?.parsed as JobMappingAnswer | undefined) ?? null;
    }
    return null;
  }

  /** The steps that would still take the person's LMS state to the desired state of their HRIS profile. */
  async function missingSteps(person: Person): Promise<string[]> {
    const id = person.profile.id;
    const [profile, actual] = await Promise.all([hris.getProfile(id), lmsPort.findLearner(id)]);
    if (!profile) return ['(the HRIS does not know the person)'];
    const mapping = person.ai ? await appliedMapping(id) : null;
    const planned = mapping ? withJobMapping({ ...profile, accessGroups: [] }, mapping) : { ...profile, accessGroups: [] };
    return planChanges(desiredLmsState(planned, org, new Date().toISOString()), actual).map(stepKey);
  }

  return {
    /** Every event workflow ran and closed, nothing else runs, and every person is in sync. */
    async settled(): Promise<boolean> {
      for (const d of taken) if (['NOT_FOUND', 'RUNNING'].includes(await statusOf(temporal, d.eventWorkflowId!))) return false;
      if ((await openWorkflows()).length) return false;
      for (const person of people) if ((await missingSteps(person)).length) return false;
      return true;
    },

    async findings() {
      const findings: Finding[] = [];
      const workflows: Record<string, number> = {};
      const byPerson = new Map(people.map((p) => [p.profile.id, p]));

      for (const d of deliveries.filter((x) => !x.status)) {
        findings.push({ kind: 'undelivered', employeeId: d.event.employee.id, detail: `${d.event.type} ${d.event.id}: ${d.error}` });
      }

      // Duplicates: one LMS account per employee id, each course once per account.
      const accounts = new Map<string, string[]>();
      for (const user of lms.snapshot().users) {
        if (!user.external_id) continue;
        accounts.set(user.external_id, [...(accounts.get(user.external_id) ?? []), user.user_id]);
        const courses = user.enrollments.map((e) => e.course_code);
        const twice = courses.filter((c, i) => courses.indexOf(c) !== i);
        if (twice.length) findings.push({ kind: 'duplicate', employeeId: user.external_id, detail: `LMS user ${user.user_id} enrolled more than once in ${[...new Set(twice)].join(', ')}` });
      }
      for (const [employeeId, ids] of accounts) {
        if (ids.length > 1) findings.push({ kind: 'duplicate', employeeId, detail: `${ids.length} LMS accounts: ${ids.join(', ')}` });
      }

      // Lost: an event taken whose workflow never ran or did not finish its work, or a person not in the desired state.
      const lastTaken = new Map<string, Delivery>();
      for (const d of taken) {
        lastTaken.set(d.event.employee.id, d);
        const status = await statusOf(temporal, d.eventWorkflowId!);
        workflows[status] = (workflows[status] ?? 0) + 1;
        // A hire cancelled by the person's termination is superseded, as designed.
        const superseded = status === 'CANCELLED' && d.event.type !== 'termination' && byPerson.get(d.event.employee.id)?.leaver;
        if (status === 'NOT_FOUND' || (!['COMPLETED', 'RUNNING'].includes(status) && !superseded)) {
          findings.push({ kind: 'lost', employeeId: d.event.employee.id, workflowId: d.eventWorkflowId!, detail: `${d.event.type} ${d.event.id} taken (HTTP ${d.status}); its workflow is ${status}` });
        }
      }
      let matching = 0;
      for (const person of people) {
        const steps = await missingSteps(person);
        if (!steps.length) matching++;
        else {
          const last = lastTaken.get(person.profile.id);
          findings.push({ kind: 'lost', employeeId: person.profile.id, workflowId: last?.eventWorkflowId ?? undefined, detail: `LMS not in the desired state${person.leaver ? ' (terminated)' : ''}: missing ${steps.join(', ')}` });
        }
      }

      // Stuck: anything but the employee workflows still open, or an employee workflow with work it never got to.
      for (const wf of await openWorkflows()) {
        const person = people.find((p) => wf.workflowId.includes(`-${p.profile.id}-`));
        findings.push({ kind: 'stuck', employeeId: person?.profile.id ?? '?', workflowId: wf.workflowId, detail: `${wf.type} still running${wf.status === AWAITING_APPROVAL ? ', awaiting approval' : wf.status ? ` (HrsyncStatus ${wf.status})` : ''}` });
      }
      for (const person of people) {
        const entity = entityWorkflowId(person.profile.id);
        const view = await temporal.workflow.getHandle(entity).query(lifecycleQuery).catch(() => null);
        if (view && (view.current || view.pending.length)) {
          findings.push({ kind: 'stuck', employeeId: person.profile.id, workflowId: entity, detail: `still busy: ${view.current ? `running ${view.current.workflowId}` : ''} ${view.pending.length} event(s) waiting`.trim() });
        }
      }

      const decisions = await pool.query(`SELECT mapper, count(*)::int AS n FROM ai_decisions WHERE kind = 'job-mapping' GROUP BY mapper`);
      const mappers = { byLlm: 0, deterministic: 0 };
      for (const row of decisions.rows) mappers[row.mapper === 'llm' ? 'byLlm' : 'deterministic'] = row.n;
      return { findings, workflows, matching, mappers };
    },
  };
}

async function postJson(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${await res.text()}`);
}

const elapsed = (since: number) => `+${((Date.now() - since) / 1000).toFixed(1).padStart(5)} s`;

/** The short human table, then the JSON summary. */
export function formatReport(report: ChaosReport): string {
  const f = report.faults;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows: [string, string][] = [
    ['people', `${report.people} (${report.terminated} terminated in the batch, ${report.aiMapped.people} with a job code the AI mapper maps)`],
    ['events taken', `${report.events.accepted}/${report.events.sent} (${report.events.answeredDuplicateAfterRetry} answered "already taken" after a retry)`],
    ['LMS in desired state', `${report.lmsAccountsMatching}/${report.people}`],
    ['duplicates', String(report.duplicates)],
    ['lost', String(report.lost)],
    ['stuck', String(report.stuck)],
    ['worker SIGKILLs', `${f.workerKills} (each restarted after 1 s; ${f.workerCrashes} other exits)`],
    ['Temporal restarts', `${f.serverRestarts} (down ${f.serverDownMs.map(seconds).join(', ') || '-'})`],
    ['LMS faults served', `429×${f.lmsFaults['429']}, 503×${f.lmsFaults['503']} of ${f.lmsApiCallsDuringBatch} API calls in the batch`],
    ['LLM timeouts', `${f.llmTimeouts} (mappings: ${report.aiMapped.byLlm} by the LLM, ${report.aiMapped.deterministic} deterministic)`],
    ['bridge retries', `${f.bridgeRetries} for ${f.eventsRetried} events (${Object.entries(f.bridgeAnswersRetried).map(([k, n]) => `${k}×${n}`).join(', ') || 'none'})`],
    ['durations', `setup ${seconds(report.durationsMs.setup)}, batch ${seconds(report.durationsMs.batch)}, convergence ${seconds(report.durationsMs.convergence)}, checks ${seconds(report.durationsMs.check)}, total ${seconds(report.durationsMs.total)}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const finding of report.findings) lines.push(`${finding.kind.toUpperCase().padEnd(width)}  ${finding.employeeId} ${finding.workflowId ?? ''}: ${finding.detail}`);
  const { findings: _details, ...summary } = report;
  return `${lines.join('\n')}\n\n${JSON.stringify({ ...summary, findings: report.findings.slice(0, 50) }, null, 2)}`;
}

async function main() {
  const program = new Command('chaos')
    .description('bounded fault injection on a throwaway loopback stack; exits non-zero if anything is duplicated, lost or stuck')
    .option('--people <n>', 'people hired in the batch (a third also terminated)', String(DEFAULTS.people))
    .option('--kills <n>', 'worker SIGKILLs during the batch', String(DEFAULTS.workerKills))
    .option('--restarts <n>', 'Temporal server restarts during the batch', String(DEFAULTS.serverRestarts))
    .option('--server-down <seconds>', 'how long the Temporal server stays down each time', String(DEFAULTS.serverDownMs / 1000))
    .option('--lms-fault-rate <share>', 'share of LMS API calls answered 429 or 503', String(DEFAULTS.lmsFaultRate))
    .option('--rate <per-second>', 'events per second the sender posts', String(DEFAULTS.eventsPerSecond))
    .option('--converge-timeout <seconds>', 'how long convergence may take after the faults are cleared', String(DEFAULTS.convergeTimeoutMs / 1000))
    .option('--seed <n>', 'seed of the worker-kill moments', String(DEFAULTS.seed))
    .parse();
  const opts = program.opts<Record<string, string>>();
  const number = (name: string, min: number, integer = true) => {
    const n = Number(opts[name]);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) program.error(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be ${integer ? 'a whole number' : 'a number'} of at least ${min}, not "${opts[name]}"`);
    return n;
  };
  const options: ChaosOptions = {
    people: number('people', 3),
    workerKills: number('kills', 0),
    serverRestarts: number('restarts', 0),
    serverDownMs: number('serverDown', 1, false) * 1000,
    lmsFaultRate: Math.min(number('lmsFaultRate', 0, false), 1),
    eventsPerSecond: number('rate', 0.1, false),
    convergeTimeoutMs: number('convergeTimeout', 1) * 1000,
    seed: number('seed', 0),
  };
  const report = await runChaos(options);
  report.command = `npx tsx bench/chaos.ts ${process.argv.slice(2).join(' ')}`.trim();
  process.stdout.write(`${formatReport(report)}\n`);
  process.exit(report.ok ? 0 : 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
