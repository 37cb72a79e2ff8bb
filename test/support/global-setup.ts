import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { dropDatabase, ensureDatabase, migrate } from '../../stack/database';
import { freePort, startDevServer } from '../../stack/temporal';
import { WORKFLOWS_PATH } from '../../workers/worker';

// One real Temporal dev server (with its Web UI) and one fresh PostgreSQL database per run.
// Neither is optional: if either cannot be had, the run fails here.

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    databaseUrl: string;
    workflowBundlePath: string;
  }
}

const RESULTS = resolve('test-results');

export default async function setup(project: TestProject) {
  mkdirSync(RESULTS, { recursive: true });
  const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const databaseName = `hrsync_test_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}`;
  let databaseUrl: string;
  try {
    databaseUrl = await ensureDatabase(adminUrl, databaseName);
  } catch (err) {
    throw new Error(`PostgreSQL is required for the tests and is not reachable at ${adminUrl.replace(/\/\/[^@]*@/, '//…@')}: ${(err as Error).message}`);
  }
  await migrate(databaseUrl);

  const uiPort = await freePort();
  const server = await startDevServer({ uiPort, logFile: resolve(RESULTS, 'temporal-dev-server.log'), readyTimeoutMs: 120_000 });

  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never });
  const workflowBundlePath = resolve(RESULTS, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, bundle.code);

  project.provide('temporalAddress', server.address);
  project.provide('temporalUiUrl', server.uiUrl!);
  project.provide('databaseUrl', databaseUrl);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await server.stop();
    await dropDatabase(adminUrl, databaseName);
  };
}
