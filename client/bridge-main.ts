import { Client, Connection } from '@temporalio/client';
import { loadConfig, requireDatabaseUrl } from '../stack/config';
import { createPool, migrate } from '../stack/database';
import { serve } from '../stack/http';
import { logger } from '../stack/logger';
import { bambooHr } from '../activities/hris';
import { docebo } from '../activities/lms';
import { bridgeSecrets, createBridge } from './bridge';
import { sftpSettingsFromEnvironment, startSftpPoller } from './sftp-batch';

/** The bridge on its own, for deployments: everything comes from the environment. */
export async function runBridge(): Promise<void> {
  const config = loadConfig();
  if (!config.webhookSecret) throw new Error('HRSYNC_WEBHOOK_SECRET must be set for the bridge');
  const databaseUrl = requireDatabaseUrl(config);
  await migrate(databaseUrl);
  const pool = createPool(databaseUrl, { embedded: config.embeddedDatabase });
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const server = await serve(
    createBridge({
      temporal,
      pool,
      taskQueue: config.taskQueue,
      secrets: bridgeSecrets(config.webhookSecret, config.surfaces),
      hris: bambooHr(config.hris),
      lms: docebo(config.lms),
      logger,
    }),
    config.bridgePort,
    process.env.HRSYNC_BIND ?? '0.0.0.0',
  );
  logger.info({ url: server.url }, 'bridge listening');
  // The nightly CSV export of a legacy HRIS, when one is configured.
  const sftp = sftpSettingsFromEnvironment();
  const poller = sftp ? startSftpPoller({ intake: { temporal, pool, taskQueue: config.taskQueue }, sftp: sftp.sftp, intervalMs: sftp.intervalMs, logger }) : null;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await poller?.stop();
  await server.close();
  await connection.close();
  await pool.end();
}
