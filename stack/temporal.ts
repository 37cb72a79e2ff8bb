import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions';

// The Temporal CLI (dev server + Web UI): found on PATH or in Go's bin folder, else built from
// the Go module proxy, else left to the SDK to download (on machines with internet and no Go).

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function goBinDir(): string | undefined {
  if (!onPath('go')) return undefined;
  const out = spawnSync('go', ['env', 'GOBIN', 'GOPATH'], { encoding: 'utf8' });
  if (out.status !== 0) return undefined;
  const [gobin, gopath] = out.stdout.split('\n').map((s) => s.trim());
  return gobin || join((gopath || join(homedir(), 'go')).split(':')[0]!, 'bin');
}

/** The path of an installed `temporal` CLI, without building anything. */
export function findTemporalCli(): string | undefined {
  if (process.env.TEMPORAL_CLI && existsSync(process.env.TEMPORAL_CLI)) return process.env.TEMPORAL_CLI;
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  for (const dir of [goBinDir(), join(homedir(), 'go', 'bin')]) {
    if (dir && existsSync(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  return undefined;
}

export class ToolchainError extends Error {}

/**
 * Finds the CLI or builds it with `go install`. Returns undefined only when there is no Go
 * toolchain, in which case the caller may let the SDK download a dev server instead.
 */
export function ensureTemporalCli(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string | undefined {
  const found = findTemporalCli();
  if (found) return found;
  const bin = goBinDir();
  if (!bin) return undefined;
  log(`building the Temporal CLI: go install ${TEMPORAL_CLI_MODULE} (the first build takes a few minutes)…`);
  const started = Date.now();
  const build = spawnSync('go', ['install', TEMPORAL_CLI_MODULE], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (build.status !== 0) {
    throw new ToolchainError(`\`go install ${TEMPORAL_CLI_MODULE}\` failed (exit ${build.status}):\n${build.stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  log(`built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s`);
  const built = join(bin, 'temporal');
  if (!existsSync(built)) throw new ToolchainError(`go install succeeded but ${built} is missing`);
  return built;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolveUse) => {
    const server = createServer();
    server.once('error', () => resolveUse(true));
    server.listen(port, host, () => server.close(() => resolveUse(false)));
  });
}

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** Persist executions in this SQLite file; omitted means in memory. */
  dbFile?: string;
  logFile?: string;
  namespace?: string;
  /** How long to wait for the server to answer. */
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  stop(): Promise<void>;
  process?: ChildProcess;
}

/** Waits until a Temporal frontend answers at `address`. */
export async function waitForTemporal(address: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the Temporal dev server exited before answering at ${address}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal did not answer at ${address} within ${timeoutMs} ms: ${(lastError as Error)?.message}`);
}

/** The server setting hrsync's deployments turn on (the embedded dev server here, docker-compose.yml's Temporal). */
export const EAGER_ACTIVITIES = 'system.enableActivityEagerExecution';

const CLI_TYPE: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };

export function devServerArgs(options: DevServerOptions & { port: number; uiPort?: number }): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    // Without these the file-backed store is slow; it still has one SQLite connection.
    args.push('--db-filename', options.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
  }
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const key of SEARCH_ATTRIBUTE_KEYS) args.push('--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`);
  // The activities a workflow task schedules come back with its answer instead of through matching:
  // a lifecycle event costs the server a third less (see "Speed" in the README).
  args.push('--dynamic-config-value', `${EAGER_ACTIVITIES}=true`);
  return args;
}

/** Starts `temporal server start-dev` (building the CLI first if needed) and waits until it answers. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  // A port found free may be taken by someone else before the server binds it: pick another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(options);
    } catch (err) {
      if (options.port !== undefined || attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startDevServerOnce(options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const cli = ensureTemporalCli();
  if (!cli) return startDownloadedDevServer({ ...options, port });
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(cli, devServerArgs({ ...options, port }), { stdio: ['ignore', out, options.logFile ? out : 'pipe'], detached: false });
  // Without a log file, the end of what the server says is kept to explain an early exit.
  let said = '';
  child.stderr?.on('data', (chunk: Buffer) => (said = (said + chunk.toString()).slice(-2000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(address, options.readyTimeoutMs ?? 60_000, () => !exited);
  } catch (err) {
    child.kill('SIGKILL');
    if (said.trim()) (err as Error).message += `; it said: ${said.trim()}`;
    else if (options.logFile) (err as Error).message += `; see ${options.logFile}`;
    throw err;
  }
  return {
    address,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined,
    process: child,
    stop: async () => {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** No Go here: the SDK downloads a dev server (needs internet). */
async function startDownloadedDevServer(options: DevServerOptions & { port: number }): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port,
      ui: !!options.uiPort,
      uiPort: options.uiPort,
      dbFilename: options.dbFile,
      namespace: options.namespace,
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
    },
  });
  return {
    address: `127.0.0.1:${options.port}`,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined,
    stop: () => env.teardown(),
  };
}
