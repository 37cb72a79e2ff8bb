import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HrsyncConfig } from './config';

// hrsync processes of their own (a worker, the CLI), configured through the environment alone as
// a deployment configures them: for the tests and the chaos bench, which SIGKILL them.

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The environment an hrsync process (worker, CLI) needs to work against the systems in `config`. */
export function hrsyncEnvironment(config: HrsyncConfig, home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HRSYNC_HOME: home,
    TEMPORAL_ADDRESS: config.temporalAddress,
    DATABASE_URL: config.databaseUrl,
    HRSYNC_TASK_QUEUE: config.taskQueue,
    HRSYNC_URL: config.bridgeUrl,
    HRSYNC_WEBHOOK_SECRET: config.webhookSecret,
    HRIS_BASE_URL: config.hris.baseUrl,
    HRIS_COMPANY: config.hris.company,
    HRIS_API_KEY: config.hris.apiKey,
    LMS_BASE_URL: config.lms.baseUrl,
    LMS_CLIENT_ID: config.lms.clientId,
    LMS_CLIENT_SECRET: config.lms.clientSecret,
    LMS_VENDOR: config.lms.vendor,
    LMS_USERNAME: config.lms.username ?? '',
    LMS_PASSWORD: config.lms.password ?? '',
    LMS_API_KEY: config.lms.apiKey ?? '',
    OPENAI_API_KEY: config.ai.apiKey ?? '',
    OPENAI_BASE_URL: config.ai.baseUrl ?? '',
    OPENAI_MODEL: config.ai.model,
    HRSYNC_CONFIG: config.organisationPath ?? '',
    LOG_LEVEL: 'warn',
  };
}

/** A worker in its own process (what `hrsync worker` runs), so it can be killed without warning. */
export function spawnWorkerProcess(env: NodeJS.ProcessEnv, options: { workflowBundlePath?: string; stdio?: StdioOptions } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: options.workflowBundlePath ? { ...env, HRSYNC_WORKFLOW_BUNDLE: options.workflowBundlePath } : env,
    stdio: options.stdio ?? ['ignore', 'inherit', 'inherit'],
  });
}

/** SIGKILL, and wait until the process is gone. */
export async function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}
