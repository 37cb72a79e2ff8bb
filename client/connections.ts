import { Client, Connection } from '@temporalio/client';
import { requireDatabaseUrl, type HrsyncConfig } from '../stack/config';
import { createPool, migrate } from '../stack/database';

// What a CLI command borrows for its run: a Temporal client and a database pool, closed after.

export async function withTemporal<T>(config: HrsyncConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${config.temporalAddress} (is \`npm start\` running, or TEMPORAL_ADDRESS set?): ${(err as Error).message}`);
  }
  try {
    return await fn(new Client({ connection, namespace: config.temporalNamespace }));
  } finally {
    await connection.close();
  }
}

/** A database pool (the schema brought up to date first), closed when the command is done. */
export async function withDatabase<T>(config: HrsyncConfig, fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const url = requireDatabaseUrl(config);
  await migrate(url);
  const pool = createPool(url, { embedded: config.embeddedDatabase });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}
