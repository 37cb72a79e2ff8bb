// How fast and how far: the bridge's intake, HR event → LMS latency at a steady hire rate, a bulk
// reorganisation against a rate-limited LMS, and the Temporal engine's own ceiling on this
// machine, with the worker's and the bridge's memory at the end. Everything runs on loopback: an
// in-memory Temporal dev server, a fresh database on the PostgreSQL at DATABASE_URL (dropped
// afterwards), the HRIS and LMS simulators in this process, and hrsync's worker and bridge as
// their own processes (`hrsync worker`, `hrsync bridge`), as they run in production.
//
//   npm run bench                          # 2,000-person reorganisation
//   npm run bench -- --people 10000        # the 10,000 one
//   npm run bench -- --help                # rates, durations, the LMS limit
//
// Prints a table and a JSON summary, and writes bench/results/bench-<time>.json and .svg.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { signEvent } from '../client/signing';
import { addDays, isoDateOf } from '../domain/dates';
import type { EmployeeProfile, HrEvent, HrProfile } from '../domain/hr-event';
import { loadOrganisation } from '../domain/load-organisation';
import { desiredLmsState } from '../domain/plan';
import { startHrisSimulator } from '../simulators/hris';
import { startLmsSimulator } from '../simulators/lms';
import { bambooRecord, employeeProfile, hireEvent, lifecycleEvent, SAMPLE_HIRES } from '../simulators/roster';
import { createPool, dropDatabase, ensureDatabase, migrate } from '../stack/database';
import { freePort, startDevServer } from '../stack/temporal';
import { WORKFLOWS_PATH } from '../workers/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });

const options = new Command()
  .name('npm run bench --')
  .option('--people <n>', 'employees in the bulk reorganisation', '2000')
  .option('--lms-limit <perSecond>', 'requests per second the LMS simulator allows during the reorganisation (and hrsync paces itself to)', '150')
  .option('--hire-rate <perSecond>', 'steady hire rate of the latency run', '20')
  .option('--hire-seconds <s>', 'how long the latency run offers hires', '20')
  .option('--intake-seconds <s>', 'how long the intake load runs', '10')
  .option('--intake-concurrency <n>', 'requests in flight from the load generator', '16')
  .option('--noop <n>', 'no-op workflows for the engine ceiling', '1000')
  .option('--profile <dir>', 'write CPU profiles of the worker and the bridge (open them in Chrome DevTools) to this folder')
  .parse()
  .opts<Record<string, string>>();
const num = (name: string, min: number) => {
  const n = Number(options[name]);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a number of at least ${min}, not "${options[name]}"`);
  return n;
};
const PEOPLE = num('people', 10);
const LMS_LIMIT = num('lmsLimit', 1);
const HIRE_RATE = num('hireRate', 1);
const HIRE_SECONDS = num('hireSeconds', 1);
const INTAKE_SECONDS = num('intakeSeconds', 1);
const INTAKE_CONCURRENCY = num('intakeConcurrency', 1);
const NOOPS = num('noop', 10);

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const round = (n: number, digits = 0) => Number(n.toFixed(digits));
const rssMb = (pid: number | undefined) => {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
};

const org = loadOrganisation();
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseName = `hrsync_bench_${Date.now()}`;
const databaseUrl = await ensureDatabase(adminUrl, databaseName);
await migrate(databaseUrl);
const pool = createPool(databaseUrl);
const home = mkdtempSync(join(tmpdir(), 'hrsync-bench-'));
const temporalServer = await startDevServer({ readyTimeoutMs: 120_000 });
const connection = await Connection.connect({ address: temporalServer.address });
const temporal = new Client({ connection });
const hris = await startHrisSimulator({ apiKey: 'bench' });
const lms = await startLmsSimulator({ clientSecret: 'bench', courses: org.courses, branches: org.branches });
const taskQueue = `bench-${Date.now()}`;
const secret = 'bench-webhook-secret';
const bridgePort = await freePort();
const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
const children: ChildProcess[] = [];

say(`hrsync benchmark ${new Date().toISOString()}: bundling the workflows…`);
const bundlePath = join(home, 'workflows.js');
writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') })).code);

/** `hrsync worker` or `hrsync bridge` as its own process, configured from the environment like production. */
function hrsync(command: 'worker' | 'bridge', extra: Record<string, string> = {}): ChildProcess {
  const profile = options.profile ? ['--cpu-prof', '--cpu-prof-dir', options.profile, '--cpu-prof-name', `${command}-${Date.now()}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...profile, 'bin/hrsync.mjs', command], {
    env: {
      ...process.env,
      HRSYNC_HOME: home,
      TEMPORAL_ADDRESS: temporalServer.address,
      DATABASE_URL: databaseUrl,
      HRSYNC_TASK_QUEUE: taskQueue,
      HRSYNC_WEBHOOK_SECRET: secret,
      HRSYNC_PORT: String(bridgePort),
      HRSYNC_BIND: '127.0.0.1',
      HRSYNC_WORKER_METRICS_PORT: '0',
      HRSYNC_RECONCILE_CRON: 'off',
      HRSYNC_COMPLETION_POLL_CRON: 'off',
      HRSYNC_WORKFLOW_BUNDLE: bundlePath,
      HRIS_BASE_URL: hris.url,
      HRIS_COMPANY: hris.company,
      HRIS_API_KEY: hris.apiKey,
      LMS_BASE_URL: lms.url,
      LMS_CLIENT_ID: 'hrsync',
      LMS_CLIENT_SECRET: 'bench',
      LOG_LEVEL: 'warn',
      ...extra,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function untilWorkerPolls() {
  for (let i = 0; i < 600; i++) {
    const res = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
    if (res.pollers?.length) return;
    await sleep(100);
  }
  throw new Error('the worker did not start polling within a minute');
}

async function stopGracefully(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(30_000).then(() => child.kill('SIGKILL'))]);
}

const post = async (event: HrEvent) => {
  const body = JSON.stringify(event);
  const res = await fetch(`${bridgeUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...signEvent(secret, body) }, body });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`the bridge answered ${res.status} for ${event.id}`);
};

/** When each of these people's event workflows recorded its outcome (audit), once all have. */
async function outcomesOf(ids: string[], workflowPrefix: string, timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await pool.query(
      `SELECT employee_id, max(recorded_at) AS at, bool_and(result IN ('applied', 'in-sync')) AS ok FROM audit_log
       WHERE kind = 'outcome' AND employee_id = ANY($1) AND workflow_id LIKE $2 GROUP BY employee_id`,
      [ids, `${workflowPrefix}-%`],
    );
    if (res.rows.length === ids.length) {
      const failed = res.rows.filter((r) => !r.ok).map((r) => r.employee_id);
      if (failed.length) throw new Error(`${failed.length} ${workflowPrefix} workflows did not apply, e.g. ${failed.slice(0, 3).join(', ')}`);
      return new Map(res.rows.map((r) => [r.employee_id as string, (r.at as Date).getTime()]));
    }
    if (Date.now() > deadline) throw new Error(`${ids.length - res.rows.length} of ${ids.length} ${workflowPrefix} workflows did not finish within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

const summary: Record<string, unknown> = { at: new Date().toISOString(), machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };
const today = isoDateOf(new Date());
let bridge: ChildProcess | undefined;
let worker: ChildProcess | undefined;

try {
  bridge = hrsync('bridge');
  for (let i = 0; ; i++) {
    if ((await fetch(`${bridgeUrl}/healthz`).catch(() => null))?.status === 200) break;
    if (i > 300) throw new Error('the bridge did not answer /healthz within a minute');
    await sleep(200);
  }

  // 1. The engine ceiling: no-op workflows through the same server, a worker in this process.
  say(`\n1. engine ceiling: ${NOOPS} no-op workflows`);
  const noopQueue = `${taskQueue}-noop`;
  const noopWorker = await Worker.create({
    connection: await NativeConnection.connect({ address: temporalServer.address }),
    taskQueue: noopQueue,
    workflowsPath: fileURLToPath(new URL('./noop-workflow.ts', import.meta.url)),
  });
  const noopRun = noopWorker.run();
  let started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < NOOPS) {
        const n = next++;
        await temporal.workflow.execute('noop', { workflowId: `noop-${taskQueue}-${n}`, taskQueue: noopQueue });
      }
    }),
  );
  const ceiling = NOOPS / ((Date.now() - started) / 1000);
  noopWorker.shutdown();
  await noopRun;
  summary.engineCeiling = { workflows: NOOPS, perSecond: round(ceiling, 1) };
  say(`   ${round(ceiling, 1)} workflows/s`);

  // 2. HR event → LMS latency at a steady hire rate.
  worker = hrsync('worker');
  await untilWorkerPolls();
  const hires = Math.round(HIRE_RATE * HIRE_SECONDS);
  say(`\n2. latency: ${hires} hires at ${HIRE_RATE}/s for ${HIRE_SECONDS} s`);
  const hired: EmployeeProfile[] = [];
  for (let i = 0; i < hires; i++) {
    const p = { ...employeeProfile(i, SAMPLE_HIRES[i % SAMPLE_HIRES.length]!, today, 'H'), id: `H${String(i).padStart(6, '0')}` };
    hris.upsertEmployee(bambooRecord(p));
    hired.push(p);
  }
  const sentAt = new Map<string, number>();
  started = Date.now();
  await Promise.all(
    hired.map(async (p, i) => {
      await sleep(started + (i * 1000) / HIRE_RATE - Date.now());
      sentAt.set(p.id, Date.now());
      await post(hireEvent(p));
    }),
  );
  const offeredFor = (Date.now() - started) / 1000;
  const hireOutcomes = await outcomesOf(hired.map((p) => p.id), 'onboarding', 600_000);
  const latencies = hired.map((p) => (lms.lastWriteAt(p.id) ?? hireOutcomes.get(p.id)!) - sentAt.get(p.id)!).sort((a, b) => a - b);
  const hiresDone = (Math.max(...hireOutcomes.values()) - started) / 1000;
  const hireThroughput = hires / hiresDone;
  summary.latency = {
    hires,
    offeredPerSecond: round(hires / offeredFor, 1),
    completedPerSecond: round(hireThroughput, 1),
    ms: { p50: round(quantile(latencies, 0.5)), p95: round(quantile(latencies, 0.95)), p99: round(quantile(latencies, 0.99)), max: round(latencies.at(-1) ?? 0) },
    ofEngineCeiling: round(hireThroughput / ceiling, 3),
  };
  say(`   p50 ${round(quantile(latencies, 0.5))} ms, p95 ${round(quantile(latencies, 0.95))} ms, p99 ${round(quantile(latencies, 0.99))} ms; ${round(hireThroughput, 1)} hires/s completed`);

  // 3. A bulk reorganisation against a rate-limited LMS: everyone at Dayton moves to Baytown at once.
  say(`\n3. bulk reorganisation: ${PEOPLE} transfers at once, LMS limited to ${LMS_LIMIT} requests/s`);
  await stopGracefully(worker);
  const movers: EmployeeProfile[] = [];
  const dayton = SAMPLE_HIRES.filter((h) => h.site === 'DAY');
  for (let i = 0; i < PEOPLE; i++) movers.push({ ...employeeProfile(i, dayton[i % dayton.length]!, addDays(today, -60), 'R'), id: `R${String(i).padStart(6, '0')}` });
  lms.importLearners(
    movers.map((p) => {
      const desired = desiredLmsState({ ...p, accessGroups: [] } as HrProfile, org, new Date().toISOString());
      return { externalId: p.id, username: desired.account.username, firstName: p.firstName, lastName: p.lastName, role: desired.account.role, branch: desired.branch, groups: desired.groups, courses: desired.enrollments.map((e) => ({ code: e.courseId, dueDate: e.dueDate })) };
    }),
  );
  const moved = movers.map((p) => ({ ...p, site: 'BAY' }));
  for (const p of moved) hris.upsertEmployee(bambooRecord(p));
  lms.setRateLimit(LMS_LIMIT);
  worker = hrsync('worker', { LMS_REQUESTS_PER_SECOND: String(LMS_LIMIT) });
  await untilWorkerPolls();
  const before = { requests: lms.stats.requests, limited: lms.stats.byStatus[429] ?? 0 };
  const progress: [number, number][] = [];
  started = Date.now();
  let posted = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (posted < moved.length) await post(lifecycleEvent('transfer', moved[posted++]!, { id: `evt-reorg-${moved[posted - 1]!.id}` }));
    }),
  );
  const postedIn = (Date.now() - started) / 1000;
  const tracker = setInterval(async () => {
    const done = await pool.query(`SELECT count(DISTINCT employee_id)::int AS n FROM audit_log WHERE kind = 'outcome' AND workflow_id LIKE 'transfer-R%'`);
    progress.push([(Date.now() - started) / 1000, done.rows[0].n]);
  }, 2000);
  const transferOutcomes = await outcomesOf(moved.map((p) => p.id), 'transfer', 3_600_000);
  clearInterval(tracker);
  const makespan = (Math.max(...transferOutcomes.values()) - started) / 1000;
  const calls = lms.stats.requests - before.requests;
  const limited = (lms.stats.byStatus[429] ?? 0) - before.limited;
  const lowerBound = calls / LMS_LIMIT;
  progress.push([makespan, moved.length]);
  summary.bulk = {
    people: PEOPLE,
    lmsLimitPerSecond: LMS_LIMIT,
    postedInSeconds: round(postedIn, 1),
    makespanSeconds: round(makespan, 1),
    lmsCalls: calls,
    lmsCallsPerPerson: round(calls / PEOPLE, 1),
    lowerBoundSeconds: round(lowerBound, 1),
    ratioToLowerBound: round(makespan / lowerBound, 3),
    answered429: limited,
    transfersPerSecond: round(PEOPLE / makespan, 1),
  };
  say(`   makespan ${round(makespan, 1)} s for ${calls} LMS calls (lower bound ${round(lowerBound, 1)} s): ${round(makespan / lowerBound, 3)}×; 429s: ${limited}`);
  const workerRss = rssMb(worker.pid);
  await stopGracefully(worker);

  // 4. Intake: signed events from a second process, nothing polling the task queue (the bridge alone).
  say(`\n4. intake: ${INTAKE_CONCURRENCY} in flight for ${INTAKE_SECONDS} s from a second process`);
  const load = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./intake-load.ts', import.meta.url)), bridgeUrl, secret, String(INTAKE_SECONDS), String(INTAKE_CONCURRENCY), `I${Date.now()}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  load.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => load.once('exit', r));
  const intake = JSON.parse(out.trim()) as { sent: number; accepted: number; failed: number; seconds: number; latenciesMs: [number, number] };
  summary.intake = { accepted: intake.accepted, failed: intake.failed, perSecond: round(intake.accepted / intake.seconds, 1), ms: { p50: intake.latenciesMs[0], p99: intake.latenciesMs[1] }, concurrency: INTAKE_CONCURRENCY };
  say(`   ${round(intake.accepted / intake.seconds, 1)} events/s accepted, p50 ${intake.latenciesMs[0]} ms, p99 ${intake.latenciesMs[1]} ms (${intake.failed} not accepted)`);
  summary.memoryMb = { worker: workerRss, bridge: rssMb(bridge.pid) };

  // The report: a table, the JSON, and a chart.
  const s = summary as { engineCeiling: { perSecond: number }; latency: { ms: Record<string, number>; completedPerSecond: number; ofEngineCeiling: number }; bulk: Record<string, number>; intake: { perSecond: number; ms: { p50: number; p99: number } }; memoryMb: { worker: number; bridge: number } };
  const rows: [string, string, string][] = [
    ['intake (bridge, signed POST /events)', `${s.intake.perSecond} events/s`, `p50 ${s.intake.ms.p50} ms, p99 ${s.intake.ms.p99} ms`],
    [`event → LMS (${HIRE_RATE} hires/s)`, `p99 ${s.latency.ms.p99} ms`, `p50 ${s.latency.ms.p50} ms, p95 ${s.latency.ms.p95} ms; target p99 < 2000 ms`],
    [`bulk reorganisation (${PEOPLE}, LMS ${LMS_LIMIT}/s)`, `${s.bulk.makespanSeconds} s`, `${s.bulk.ratioToLowerBound}× the lower bound ${s.bulk.lowerBoundSeconds} s; target ≤ 1.15×`],
    ['engine ceiling (no-op workflows)', `${s.engineCeiling.perSecond}/s`, `hires at ${s.latency.completedPerSecond}/s = ${s.latency.ofEngineCeiling} of it`],
    ['memory at the end (RSS)', `worker ${s.memoryMb.worker} MB`, `bridge ${s.memoryMb.bridge} MB`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  say('\n' + rows.map((r) => `${r[0].padEnd(width)}  ${r[1].padEnd(16)}  ${r[2]}`).join('\n'));
  say(`\n${JSON.stringify(summary)}`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(dir, `bench-${stamp}.json`), JSON.stringify(summary, null, 2));
  writeFileSync(join(dir, `bench-${stamp}.svg`), chart(latencies, progress, lowerBound, moved.length));
  say(`written: bench/results/bench-${stamp}.json and .svg`);
} finally {
  // Stopped, not killed, so that a --profile run writes their profiles.
  await Promise.all(children.map(stopGracefully));
  await pool.end();
  await connection.close();
  await temporalServer.stop();
  await hris.close();
  await lms.close();
  await dropDatabase(adminUrl, databaseName);
}
process.exit(0);

/** Two panels: the latency distribution of the steady hires, and the reorganisation's progress against its lower bound. */
function chart(latencies: number[], progress: [number, number][], lowerBound: number, total: number): string {
  const W = 900, H = 320, pad = 50, half = W / 2;
  const line = (points: [number, number][]) => points.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const maxMs = Math.max(2000, latencies.at(-1) ?? 0);
  const cdf = latencies.map((ms, i): [number, number] => [pad + (ms / maxMs) * (half - 2 * pad), H - pad - ((i + 1) / latencies.length) * (H - 2 * pad)]);
  const maxT = Math.max(lowerBound, ...progress.map((p) => p[0])) * 1.05;
  const px = (t: number) => half + pad + (t / maxT) * (half - 2 * pad);
  const py = (n: number) => H - pad - (n / total) * (H - 2 * pad);
  const text = (x: number, y: number, s: string, anchor = 'start') => `<text x="${x}" y="${y}" font-size="12" text-anchor="${anchor}">${s}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
${text(pad, 20, `HR event → LMS latency, ${latencies.length} hires (cumulative share)`)}
<path d="M${pad},${pad} V${H - pad} H${half - pad}" stroke="black" fill="none"/>
<path d="${line(cdf)}" stroke="#1f77b4" fill="none" stroke-width="2"/>
<line x1="${pad + (2000 / maxMs) * (half - 2 * pad)}" y1="${pad}" x2="${pad + (2000 / maxMs) * (half - 2 * pad)}" y2="${H - pad}" stroke="#d62728" stroke-dasharray="4"/>
${text(pad + (2000 / maxMs) * (half - 2 * pad) + 4, pad + 12, '2 s target')}
${text(half - pad, H - pad + 20, `${Math.round(maxMs)} ms`, 'end')}${text(pad, H - pad + 20, '0')}
${text(half + pad, 20, `Reorganisation: transfers done over time (${total})`)}
<path d="M${half + pad},${pad} V${H - pad} H${W - pad}" stroke="black" fill="none"/>
<path d="${line(([[0, 0], ...progress] as [number, number][]).map(([t, n]): [number, number] => [px(t), py(n)]))}" stroke="#2ca02c" fill="none" stroke-width="2"/>
<line x1="${px(lowerBound)}" y1="${pad}" x2="${px(lowerBound)}" y2="${H - pad}" stroke="#d62728" stroke-dasharray="4"/>
${text(px(lowerBound) - 4, pad + 12, `lower bound ${lowerBound.toFixed(0)} s`, 'end')}
${text(W - pad, H - pad + 20, `${maxT.toFixed(0)} s`, 'end')}
</svg>
`;
}
