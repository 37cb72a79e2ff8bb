import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { bridgeSecrets, createBridge } from '../client/bridge';
import { COMPLETION_POLL_SCHEDULE_ID, ensureCompletionPollSchedule, ensureReconciliationSchedule, NIGHTLY_SCHEDULE_ID } from '../client/reconcile';
import { sftpSettingsFromEnvironment, startSftpPoller } from '../client/sftp-batch';
import { loadOrganisation } from '../domain/load-organisation';
import { startAbsorbSimulator, type AbsorbSimulator } from '../simulators/absorb';
import { startHrisSimulator, type HrisSimulator } from '../simulators/hris';
import { startLmsSimulator, type LmsSimulator } from '../simulators/lms';
import { bambooRecord, sampleRoster } from '../simulators/roster';
import { createHrsyncWorker } from '../workers/worker';
import { DEFAULT_PORTS, completionPollCron, lmsVendor, loadConfig, reconcileCron, STATE_DIR, workerMetricsPort, writeRuntimeFile, type HrsyncConfig, type RuntimeFile } from './config';
import { createPool, migrate, startEmbeddedPostgres } from './database';
import { serve } from './http';
import { logger } from './logger';
import { startWorkerMetricsServer } from './metrics';
import { connectSystems } from './systems';
import { portInUse, startDevServer, waitForTemporal } from './temporal';

// The embedded stack behind `hrsync start` and `hrsync demo`: whatever the environment does not
// point at (Temporal, PostgreSQL, the vendor systems) is started here, then the worker and the
// bridge run against it.

export interface LocalStackOptions {
  /** Free ports, in-memory Temporal and a throwaway database: for the demo. */
  ephemeral?: boolean;
  progress?: (line: string) => void;
  /** A prebuilt workflow bundle (tests); otherwise the worker bundles the workflows at start. */
  workflowBundlePath?: string;
}

export interface LocalStack {
  config: HrsyncConfig;
  urls: Record<string, string>;
  temporal: Client;
  hrisSimulator?: HrisSimulator;
  /** The Docebo-style LMS simulator (LMS_VENDOR=docebo, the default). */
  lmsSimulator?: LmsSimulator;
  /** The Absorb-style LMS simulator (LMS_VENDOR=absorb). */
  absorbSimulator?: AbsorbSimulator;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = process.env;
  const ephemeral = !!options.ephemeral;
  const progress = options.progress ?? (() => undefined);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((err) => logger.warn({ err: (err as Error).message }, 'shutdown step failed'));
  };
  const fixedPort = (port: number) => (ephemeral ? 0 : port);
  const urls: Record<string, string> = {};

  try {
    const runtime: RuntimeFile = {};

    let temporalAddress = env.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const port = DEFAULT_PORTS.temporal;
      if (!ephemeral && (await portInUse(port))) {
        // A dev server from an earlier `hrsync start` (or the user's own) is already there.
        temporalAddress = `127.0.0.1:${port}`;
        await waitForTemporal(temporalAddress, 10_000);
        progress(`Temporal: reusing the server already answering at ${temporalAddress}`);
      } else {
        progress(ephemeral ? 'Temporal: starting an in-memory dev server…' : 'Temporal: starting the dev server (persisted under .hrsync/)…');
        const server = await startDevServer({
          port: ephemeral ? undefined : port,
          uiPort: ephemeral ? undefined : DEFAULT_PORTS.temporalUi,
          dbFile: ephemeral ? undefined : join(STATE_DIR, 'temporal.db'),
          logFile: ephemeral ? undefined : join(STATE_DIR, 'temporal.log'),
        });
        stops.push(server.stop);
        temporalAddress = server.address;
        if (server.uiUrl) urls['Temporal Web UI'] = server.uiUrl;
      }
    }
    urls.Temporal = temporalAddress;
    runtime.temporalAddress = temporalAddress;

    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const dir = ephemeral ? mkdtempSync(join(tmpdir(), 'hrsync-pg-')) : join(STATE_DIR, 'pgdata');
      progress(`PostgreSQL: no DATABASE_URL, starting embedded PGlite (${ephemeral ? 'throwaway' : '.hrsync/pgdata'})…`);
      const embedded = await startEmbeddedPostgres(dir, fixedPort(DEFAULT_PORTS.embeddedPostgres));
      stops.push(async () => {
        await embedded.close();
        if (ephemeral) rmSync(dir, { recursive: true, force: true });
      });
      databaseUrl = embedded.url;
      runtime.embeddedDatabase = true;
    }
    await migrate(databaseUrl);
    runtime.databaseUrl = databaseUrl;
    urls.PostgreSQL = databaseUrl.replace(/\/\/[^@/]*@/, '//');

    const organisation = loadOrganisation();
    let hrisSimulator: HrisSimulator | undefined;
    if (!env.HRIS_BASE_URL) {
      hrisSimulator = await startHrisSimulator({ port: fixedPort(DEFAULT_PORTS.hris), apiKey: randomBytes(12).toString('hex') });
      if (!ephemeral) for (const person of sampleRoster()) hrisSimulator.upsertEmployee(bambooRecord(person));
      stops.push(hrisSimulator.close);
      runtime.hris = { baseUrl: hrisSimulator.url, company: hrisSimulator.company, apiKey: hrisSimulator.apiKey };
      urls['HRIS simulator'] = `${hrisSimulator.url}/sim/state`;
    }
    let lmsSimulator: LmsSimulator | undefined;
    let absorbSimulator: AbsorbSimulator | undefined;
    if (!env.LMS_BASE_URL && lmsVendor(env.LMS_VENDOR) === 'absorb') {
      absorbSimulator = await startAbsorbSimulator({
        port: fixedPort(DEFAULT_PORTS.lms),
        username: env.LMS_USERNAME || 'hrsync',
        password: env.LMS_PASSWORD || randomBytes(16).toString('hex'),
        privateKey: env.LMS_API_KEY || randomUUID(),
        courses: organisation.courses,
        branches: organisation.branches,
      });
      stops.push(absorbSimulator.close);
      const { url, username, password, privateKey } = absorbSimulator;
      runtime.lms = { vendor: 'absorb', baseUrl: url, clientId: 'hrsync', clientSecret: '', username, password, apiKey: privateKey };
      urls['LMS simulator (Absorb-style)'] = `${url}/sim/state`;
    } else if (!env.LMS_BASE_URL) {
      const clientSecret = randomBytes(16).toString('hex');
      lmsSimulator = await startLmsSimulator({ port: fixedPort(DEFAULT_PORTS.lms), clientSecret, courses: organisation.courses, branches: organisation.branches });
      stops.push(lmsSimulator.close);
      runtime.lms = { baseUrl: lmsSimulator.url, clientId: 'hrsync', clientSecret };
      urls['LMS simulator'] = `${lmsSimulator.url}/sim/state`;
    }
    runtime.webhookSecret = env.HRSYNC_WEBHOOK_SECRET || randomBytes(24).toString('hex');
    // Each vendor surface gets a secret of its own for the local stack; the environment's wins.
    runtime.surfaces = {
      bamboohrWebhookKey: env.BAMBOOHR_WEBHOOK_KEY || randomBytes(24).toString('hex'),
      oktaHookSecret: env.OKTA_EVENT_HOOK_SECRET || randomBytes(24).toString('hex'),
      scimToken: env.SCIM_BEARER_TOKEN || randomBytes(24).toString('hex'),
      lmsWebhookSecret: env.LMS_WEBHOOK_SECRET || randomBytes(24).toString('hex'),
    };

    const config = loadConfig(env, runtime);
    const pool = createPool(databaseUrl, { embedded: !!runtime.embeddedDatabase });
    stops.push(() => pool.end());

    const connection = await Connection.connect({ address: temporalAddress });
    stops.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporalNamespace });

    const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    stops.push(() => nativeConnection.close());
    progress('Worker: bundling the workflows…');
    const systems = connectSystems(config, pool, temporal);
    const worker: Worker = await createHrsyncWorker({
      connection: nativeConnection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      systems,
      workflowBundlePath: options.workflowBundlePath,
    });
    const running = worker.run();
    const cron = reconcileCron(env);
    if (cron && !ephemeral) {
      await ensureReconciliationSchedule(temporal, config.taskQueue, cron);
      urls['Nightly reconciliation'] = `schedule ${NIGHTLY_SCHEDULE_ID} (${cron} UTC)`;
    }
    const pollCron = completionPollCron(env);
    if (pollCron && !ephemeral) {
      await ensureCompletionPollSchedule(temporal, config.taskQueue, pollCron);
      urls['Completion poll'] = `schedule ${COMPLETION_POLL_SCHEDULE_ID} (${pollCron} UTC)`;
    }
    stops.push(async () => {
      // The SDK's own signal handler may already have begun the shutdown.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    // The worker's Prometheus endpoint (the bridge serves its own on /metrics); a taken port costs only the metrics.
    const workerMetrics = await startWorkerMetricsServer({ port: ephemeral ? 0 : workerMetricsPort(env), temporal }).catch((err: Error) => void logger.warn({ err: err.message }, 'worker metrics unavailable'));
    if (workerMetrics) {
      stops.push(workerMetrics.close);
      urls['Worker metrics'] = workerMetrics.url;
    }

    const bridge = await serve(
      createBridge({
        temporal,
        pool,
        taskQueue: config.taskQueue,
        secrets: bridgeSecrets(runtime.webhookSecret, config.surfaces),
        // The worker's own adapters: one Absorb login per process (a second would revoke the first's token).
        hris: systems.hris,
        lms: systems.lms,
        logger,
      }),
      ephemeral ? 0 : config.bridgePort,
    );
    stops.push(bridge.close);
    // HR edits in the HRIS simulator reach the bridge as BambooHR webhooks (the demo wires its own).
    if (hrisSimulator && !ephemeral) {
      hrisSimulator.setWebhook({ url: `${bridge.url}/webhooks/bamboohr`, privateKey: runtime.surfaces.bamboohrWebhookKey! });
    }
    // Completions in the LMS simulator reach the bridge as Docebo-style webhooks.
    if (lmsSimulator && !ephemeral) lmsSimulator.setWebhook({ url: `${bridge.url}/webhooks/lms`, secret: runtime.surfaces.lmsWebhookSecret! });
    const sftp = sftpSettingsFromEnvironment(env);
    if (sftp) {
      const poller = startSftpPoller({ intake: { temporal, pool, taskQueue: config.taskQueue }, sftp: sftp.sftp, intervalMs: sftp.intervalMs, logger });
      stops.push(() => poller.stop());
      urls['SFTP batch'] = `sftp://${sftp.sftp.host}:${sftp.sftp.port}${sftp.sftp.directory ?? '/outbound'}`;
    }
    runtime.bridgeUrl = bridge.url;
    urls.Bridge = `${bridge.url}/events (health: ${bridge.url}/healthz)`;

    const finalConfig = { ...config, bridgeUrl: bridge.url };
    if (!ephemeral) {
      writeRuntimeFile({ ...runtime, pid: process.pid });
      stops.push(async () => writeRuntimeFile({}));
    }
    return { config: finalConfig, urls, temporal, hrisSimulator, lmsSimulator, absorbSimulator, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
