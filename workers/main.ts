import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig, requireDatabaseUrl } from '../stack/config';
import { createPool, migrate } from '../stack/database';
import { connectSystems } from '../stack/systems';
import { logger } from '../stack/logger';
import { createHrsyncWorker } from './worker';

// The worker process: connect, run until SIGINT/SIGTERM, finish in-flight tasks, exit.
const config = loadConfig();
const databaseUrl = requireDatabaseUrl(config);
await migrate(databaseUrl);
const pool = createPool(databaseUrl, { embedded: config.embeddedDatabase });
const connection = await NativeConnection.connect({ address: config.temporalAddress });
// Some activities hand events to entity workflows (identity events), so the worker is also a client.
const clientConnection = await Connection.connect({ address: config.temporalAddress });
const temporal = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
const worker = await createHrsyncWorker({
  connection,
  namespace: config.temporalNamespace,
  taskQueue: config.taskQueue,
  systems: connectSystems(config, pool, temporal),
  workflowBundlePath: process.env.HRSYNC_WORKFLOW_BUNDLE,
});
logger.info({ taskQueue: config.taskQueue, temporal: config.temporalAddress }, 'worker started');
await worker.run();
await connection.close();
await clientConnection.close();
await pool.end();
logger.info('worker stopped');
