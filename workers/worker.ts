import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type Systems } from '../activities';
import { maxCachedWorkflows } from '../stack/config';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  systems: Systems;
  /** A prebuilt workflow bundle (tests build one once); otherwise the workflows are bundled at start. */
  workflowBundlePath?: string;
  /** Workflows kept in memory between tasks (HRSYNC_MAX_CACHED_WORKFLOWS). */
  maxCachedWorkflows?: number;
}

export async function createHrsyncWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities(options.systems),
    // The SDK sizes its cache from the heap (some 2,300 on a 4 GB heap): every idle employee workflow
    // stays in memory until the heap is full. Evicted ones replay their (short) history on their next event.
    maxCachedWorkflows: options.maxCachedWorkflows ?? maxCachedWorkflows(),
    // A plan being applied learns of its cancellation (a superseding termination) from the answer
    // to a heartbeat; the default throttle would hold heartbeats back for most of their timeout.
    maxHeartbeatThrottleInterval: '1s',
    ...(options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
  });
}
