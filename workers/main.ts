import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ensureCompletionPollSchedule, ensureReconciliationSchedule } from '../client/reconcile';
import { setVendorRateLimit } from '../activities/http';
import { completionPollCron, lmsRequestsPerSecond, loadConfig, reconcileCron, requireDatabaseUrl, workerMetricsPort } from '../stack/config';
import { createPool, migrate } from '../stack/database';
import { startWorkerMetricsServer } from '../stack/metrics';
import { connectSystems } from '../stack/systems';
import { logger, temporalLogFunction, temporalLogLevel } from '../stack/logger';
import { createHrsyncWorker } from './worker';

// The SDK's own logs go out as the same JSON lines as ours (before anything creates the Runtime).
Runtime.install({ logger: new DefaultLogger(temporalLogLevel(), temporalLogFunction()) });

// The worker process: connect, run until SIGINT/SIGTERM, finish in-flight tasks, exit.
const config = loadConfig();
const metricsPort = workerMetricsPort();
const databaseUrl = requireDatabaseUrl(config);
await migrate(databaseUrl);
const pool = createPool(databaseUrl, { embedded: config.embeddedDatabase });
const connection = await NativeConnection.connect({ address: config.temporalAddress });
// Some activities hand events to entity workflows (identity events), so the worker is also a client.
const clientConnection = await Connection.connect({ address: config.temporalAddress });
const temporal = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
const systems = connectSystems(config, pool, temporal);
setVendorRateLimit('LMS', lmsRequestsPerSecond());
const worker = await createHrsyncWorker({
  connection,
  namespace: config.temporalNamespace,
  taskQueue: config.taskQueue,
  systems,
  workflowBundlePath: process.env.HRSYNC_WORKFLOW_BUNDLE,
});
// Prometheus scrapes GET /metrics here; approvals_pending is counted through the worker's client.
// A port already taken costs the metrics, not the HR events: the worker runs on and says so.
const metrics = await startWorkerMetricsServer({ port: metricsPort, host: process.env.HRSYNC_BIND ?? '0.0.0.0', temporal: systems.intake.temporal }).catch((err: Error) => {
  logger.error({ port: metricsPort, err: err.message }, 'worker metrics unavailable: set HRSYNC_WORKER_METRICS_PORT to a free port (0: any)');
  return null;
});
logger.info({ taskQueue: config.taskQueue, temporal: config.temporalAddress, metrics: metrics?.url ?? null }, 'worker started');
// Every worker keeps the one nightly schedule in place (creating it, or updating its cron).
const cron = reconcileCron();
if (cron) {
  await ensureReconciliationSchedule(temporal, config.taskQueue, cron).then(
    (state) => logger.info({ cron, state }, 'nightly reconciliation scheduled'),
    (err) => logger.error({ err: (err as Error).message }, 'could not schedule the nightly reconciliation'),
  );
}
const pollCron = completionPollCron();
if (pollCron) {
  await ensureCompletionPollSchedule(temporal, config.taskQueue, pollCron).then(
    (state) => logger.info({ cron: pollCron, state }, 'completion poll scheduled'),
    (err) => logger.error({ err: (err as Error).message }, 'could not schedule the completion poll'),
  );
}
await worker.run();
await metrics?.close();
await connection.close();
await clientConnection.close();
await pool.end();
logger.info('worker stopped');
