import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_PORTS, ENVIRONMENT_VARIABLES, loadConfig } from '../stack/config';
import { devServerArgs, EAGER_ACTIVITIES } from '../stack/temporal';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions';

// There is no Docker engine here, so the deployment files are checked by reading them: the
// compose file must only set variables hrsync reads, and what it sets must be what the code
// needs to reach the Temporal and PostgreSQL it describes.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(resolve(ROOT, file), 'utf8');

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target: string })[];
  deploy?: { replicas?: number };
  container_name?: string;
  healthcheck?: { test?: string | string[] };
}

// `merge`: the file shares the worker's and bridge's settings through `<<:` merge keys, as compose does.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown>; configs?: Record<string, { content: string }> };
const services = compose.services ?? {};
const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no "${name}" service`);
  return found;
};

/** A service's environment block as a map, values as compose hands them over before interpolation. */
function environmentOf(name: string): Env {
  const environment = service(name).environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$/g;

/**
 * Compose's variable interpolation: `$$` is a literal `$`; `${VAR:-default}` and `${VAR-default}`
 * fall back to the default; `${VAR:?message}`, `${VAR?message}`, `${VAR}` and `$VAR` take the value
 * of `hostEnv`, else `placeholder(VAR)`; any other `$` is an error, as in compose. Returns the value
 * and the variables it refers to.
 */
function interpolate(value: string, hostEnv: Env = {}, placeholder = (name: string) => `placeholder-${name}`) {
  const references: string[] = [];
  const result = value.replace(REFERENCE, (match, braced?: string, operator?: string, argument?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = braced ?? bare;
    if (!name) throw new Error(`invalid interpolation format (write $$ for a literal $): ${value}`);
    references.push(name);
    const set = hostEnv[name];
    if (operator === ':-') return set ? set : argument!;
    if (operator === '-') return set !== undefined ? set : argument!;
    return set !== undefined ? set : placeholder(name);
  });
  return { value: result, references };
}

const interpolated = (env: Env, hostEnv: Env = {}): Env =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v, hostEnv).value]));

/** Published → container ports of a service (short syntax "host:container", "ip:host:container", or long syntax). */
function portsOf(name: string): { published: number; target: number }[] {
  return (service(name).ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: Number(port.published ?? port.target), target: Number(port.target) };
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.at(-1));
    return { published: parts.length > 1 ? Number(parts.at(-2)) : target, target };
  });
}

const commandOf = (name: string) => {
  const command = service(name).command ?? '';
  return Array.isArray(command) ? command.join(' ') : command;
};

const dependencyCondition = (name: string, on: string) => {
  const dependsOn = service(name).depends_on ?? {};
  if (Array.isArray(dependsOn)) return dependsOn.includes(on) ? 'service_started' : undefined;
  const dependency = dependsOn[on];
  return dependency ? (dependency.condition ?? 'service_started') : undefined;
};

/** Each `temporal operator search-attribute create …` line of the admin-tools command, with its flags. */
function searchAttributeRegistrations() {
  const flag = (line: string, name: string) => line.match(new RegExp(`--${name}[ =](\\S+)`))?.[1];
  return [...commandOf('temporal-admin-tools').matchAll(/temporal operator search-attribute create\b[^\n]*/g)].map(([line]) => ({
    name: flag(line, 'name'),
    type: flag(line, 'type'),
    namespace: flag(line, 'namespace') ?? flag(line, 'n'),
    address: flag(line, 'address'),
  }));
}

// SDK search attribute types as the `temporal` CLI spells them.
const CLI_TYPE: Record<string, string> = {
  TEXT: 'Text', KEYWORD: 'Keyword', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList',
};

const HRSYNC_SERVICES = ['worker', 'bridge'] as const;
const SECRET_NAME = /SECRET|PASSWORD|PWD|KEY|TOKEN/;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}$/;
// A secret comes from the environment with no default written here: `${VAR}`, `${VAR:?message}`.
const SECRET_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$/;

describe('docker-compose.yml', () => {
  it('describes PostgreSQL, Temporal, its admin tools and Web UI, and hrsync worker and bridge', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'worker', 'bridge']),
    );
    expect(service('postgresql').image).toMatch(/^postgres:15\b/);
    expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:1\.2\d\.\d+$/);
    expect(service('temporal-admin-tools').image).toMatch(/^temporalio\/admin-tools:\S+$/);
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:\S+$/);
  });

  it('keeps PostgreSQL on a named volume, checks its health and creates the hrsync database', () => {
    const postgres = service('postgresql');
    const dataVolume = (postgres.volumes ?? [])
      .map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v))
      .find((v) => v.target === '/var/lib/postgresql/data');
    expect(dataVolume?.source, 'a volume on /var/lib/postgresql/data').toBeDefined();
    expect(Object.keys(compose.volumes ?? {}), 'a named (top-level) volume').toContain(dataVolume!.source);
    expect(JSON.stringify(postgres.healthcheck?.test)).toContain('pg_isready');

    const env = environmentOf('postgresql');
    expect(env.POSTGRES_DB).toBe('hrsync');
    // auto-setup creates `temporal` and `temporal_visibility` itself unless the user bears the name
    // (then it counts on the image having created it, which it does not when POSTGRES_DB is hrsync).
    expect(['temporal', 'temporal_visibility']).not.toContain(interpolate(env.POSTGRES_USER ?? '').value);
  });

  it('runs Temporal on PostgreSQL persistence in the postgresql service, once it is healthy', () => {
    const env = environmentOf('temporal');
    expect(env.DB).toBe('postgres12');
    expect(env.POSTGRES_SEEDS).toBe('postgresql');
    expect(env.DB_PORT).toBe('5432');
    const postgres = environmentOf('postgresql');
    expect(env.POSTGRES_USER, 'the same user as the postgresql service').toBe(postgres.POSTGRES_USER);
    expect(env.POSTGRES_PWD, 'the same password as the postgresql service').toBe(postgres.POSTGRES_PASSWORD);
    expect(dependencyCondition('temporal', 'postgresql')).toBe('service_healthy');
    expect(portsOf('temporal')).toContainEqual({ published: DEFAULT_PORTS.temporal, target: 7233 });
  });

  it('turns on eager activities in Temporal, as the embedded dev server does', () => {
    const mount = ((service('temporal') as Service & { configs?: { source: string; target: string }[] }).configs ?? []).find(
      (c) => c.target === environmentOf('temporal').DYNAMIC_CONFIG_FILE_PATH,
    );
    expect(mount, 'a config mounted where DYNAMIC_CONFIG_FILE_PATH points').toBeDefined();
    const dynamicConfig = parse(compose.configs![mount!.source]!.content);
    expect(dynamicConfig[EAGER_ACTIVITIES]).toEqual([{ value: true }]);
    expect(devServerArgs({ port: 7233 }).join(' ')).toContain(`--dynamic-config-value ${EAGER_ACTIVITIES}=true`);
  });

  it('registers exactly the search attributes the workflows use, on the namespace hrsync uses, until Temporal answers', () => {
    const registrations = searchAttributeRegistrations();
    expect(registrations.map((r) => r.name).sort()).toEqual(SEARCH_ATTRIBUTE_KEYS.map((key) => key.name).sort());
    for (const key of SEARCH_ATTRIBUTE_KEYS) {
      const registration = registrations.find((r) => r.name === key.name)!;
      expect(registration.type, key.name).toBe(CLI_TYPE[key.type]);
      expect(registration.address, key.name).toBe('temporal:7233');
      expect(registration.namespace ?? 'default', key.name).toBe('default');
    }
    for (const name of HRSYNC_SERVICES) {
      expect(loadConfig(interpolated(environmentOf(name)), {}).temporalNamespace, `${name} namespace`).toBe('default');
    }
    const command = commandOf('temporal-admin-tools');
    expect(command, 'retries until Temporal answers').toMatch(/\b(until|while)\b/);
    // Shell variables must be written `$$x`, or compose would substitute them (with nothing).
    expect(interpolate(command).references, 'compose variables in the admin-tools script').toEqual([]);
    expect(dependencyCondition('temporal-admin-tools', 'temporal')).toBeDefined();
  });

  it('points the Web UI at Temporal and publishes it on 8233', () => {
    expect(environmentOf('temporal-ui').TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(portsOf('temporal-ui')).toContainEqual({ published: DEFAULT_PORTS.temporalUi, target: 8080 });
  });

  it('builds the worker and the bridge from the Dockerfile and runs the hrsync CLI', () => {
    for (const name of HRSYNC_SERVICES) {
      const build = service(name).build;
      const dockerfile = typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile');
      expect(build, `${name} build`).toBeDefined();
      expect(dockerfile).toBe('Dockerfile');
    }
    expect(commandOf('worker')).toBe('node bin/hrsync.mjs worker');
    expect(commandOf('bridge')).toBe('node bin/hrsync.mjs bridge');
  });

  it('mounts the organisation file HRSYNC_CONFIG names, if it names one', () => {
    for (const name of HRSYNC_SERVICES) {
      const path = environmentOf(name).HRSYNC_CONFIG;
      if (!path) continue;
      const targets = (service(name).volumes ?? []).map((v) => (typeof v === 'string' ? interpolate(v).value.split(':')[1] : v.target));
      expect(targets, `${name}: a volume on ${path}`).toContain(path);
    }
  });

  it('sets on the worker and the bridge only variables hrsync reads, and the ones it needs', () => {
    for (const name of HRSYNC_SERVICES) {
      const env = environmentOf(name);
      expect(Object.keys(env).filter((key) => !(key in ENVIRONMENT_VARIABLES)), `${name}: not in ENVIRONMENT_VARIABLES`).toEqual([]);
      expect(env.TEMPORAL_ADDRESS, `${name} TEMPORAL_ADDRESS`).toBe('temporal:7233');
      expect(env.DATABASE_URL, `${name} DATABASE_URL`).toBeTruthy();
      for (const key of ['HRIS_BASE_URL', 'HRIS_COMPANY', 'HRIS_API_KEY', 'LMS_BASE_URL', 'LMS_CLIENT_ID', 'LMS_CLIENT_SECRET']) {
        expect(env[key], `${name} ${key}`).toMatch(WHOLE_REFERENCE);
      }
    }
    const bridge = environmentOf('bridge');
    expect(bridge.HRSYNC_WEBHOOK_SECRET, 'bridge HRSYNC_WEBHOOK_SECRET, required from the environment').toMatch(/^\$\{HRSYNC_WEBHOOK_SECRET:\?[^}]*\}$/);
  });

  it('gives loadConfig, fed the worker and bridge environment, the Temporal and database the file describes', () => {
    for (const name of HRSYNC_SERVICES) {
      const config = loadConfig(interpolated(environmentOf(name)), {});
      expect(config.temporalAddress).toBe('temporal:7233');
      expect(config.temporalAddress.split(':')[0]! in services).toBe(true);
      const url = new URL(config.databaseUrl!);
      expect(url.protocol).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname in services, `${name}: DATABASE_URL host is a service`).toBe(true);
      expect(url.hostname).toBe('postgresql');
      expect(url.port || '5432').toBe('5432');
      expect(url.pathname).toBe(`/${environmentOf('postgresql').POSTGRES_DB}`);
      expect(decodeURIComponent(url.username)).toBe(interpolate(environmentOf('postgresql').POSTGRES_USER!).value);
      expect(decodeURIComponent(url.password), 'the password comes from the environment').toBe('placeholder-POSTGRES_PASSWORD');
      expect(config.embeddedDatabase).toBe(false);
      expect(config.hris.baseUrl).toBe('placeholder-HRIS_BASE_URL');
      expect(config.lms.clientSecret).toBe('placeholder-LMS_CLIENT_SECRET');
    }
    expect(loadConfig(interpolated(environmentOf('bridge')), {}).webhookSecret).toBe('placeholder-HRSYNC_WEBHOOK_SECRET');
  });

  it('publishes the bridge on its default port, the port it listens on', () => {
    const bridgePort = loadConfig(interpolated(environmentOf('bridge')), {}).bridgePort;
    expect(bridgePort).toBe(DEFAULT_PORTS.bridge);
    expect(portsOf('bridge')).toContainEqual({ published: DEFAULT_PORTS.bridge, target: bridgePort });
  });

  it('lets the worker scale: no fixed container name, no published port', () => {
    const worker = service('worker');
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    expect(worker.deploy?.replicas ?? 1).toBeGreaterThanOrEqual(1);
    expect(read('docker-compose.yml')).toMatch(/--scale worker=N|replicas:/);
  });

  it('interpolates as compose would, and documents every variable it requires in its header', () => {
    const strings = (node: unknown): string[] =>
      typeof node === 'string' ? [node]
      : Array.isArray(node) ? node.flatMap(strings)
      : node && typeof node === 'object' ? Object.values(node).flatMap(strings)
      : [];
    const text = read('docker-compose.yml');
    const required = new Set<string>();
    for (const value of strings(compose)) {
      interpolate(value); // throws on a stray `$`
      for (const [, name] of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)) required.add(name!);
    }
    expect([...required].sort()).toEqual(expect.arrayContaining(['HRSYNC_WEBHOOK_SECRET', 'POSTGRES_PASSWORD']));
    const header = text.slice(0, Math.max(0, text.search(/^[^#\s]/m))); // the comment before the first key
    expect([...required].filter((name) => !new RegExp(`^#\\s+${name}=`, 'm').test(header)), 'required but not in the header').toEqual([]);
  });

  it('writes no secret: every secret-looking value is a ${…} reference without default, and so is the password in DATABASE_URL', () => {
    for (const name of Object.keys(services)) {
      for (const [key, value] of Object.entries(environmentOf(name))) {
        if (SECRET_NAME.test(key)) expect(value, `${name} ${key}`).toMatch(SECRET_REFERENCE);
      }
    }
    for (const name of HRSYNC_SERVICES) {
      // Defaults are taken literally, references become markers: the password must be one marker.
      const url = new URL(interpolate(environmentOf(name).DATABASE_URL!, {}, (variable) => `ref-${variable}`).value);
      expect(decodeURIComponent(url.password), `${name} DATABASE_URL password`).toMatch(/^ref-[A-Za-z_][A-Za-z0-9_]*$/);
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = read('Dockerfile');

  it('builds on Node 20, installs with npm ci and runs the source through the CLI, no build step', () => {
    const from = dockerfile.match(/^FROM\s+(\S+)/m)?.[1];
    expect(from).toMatch(/^node:20([.-]|$)/);
    expect(dockerfile).toMatch(/^RUN\s+npm ci\b/m);
    expect(dockerfile).toMatch(/^COPY\s+package\.json\s+package-lock\.json\s/m);
    expect(dockerfile).not.toMatch(/npm run build|\btsc\b/);
    expect(dockerfile).toMatch(/bin\/hrsync\.mjs/);
  });

  it('keeps local state and dependencies out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.hrsync', 'test-results', '.git']));
  });
});
