import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { Organisation } from './organisation';
import { describeInvalid } from './hr-event';

export const SAMPLE_ORGANISATION_PATH = fileURLToPath(new URL('./sample-organisation.yaml', import.meta.url));

export class OrganisationConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`organisation config ${path}: ${message}`);
  }
}

/** Reads and validates the organisation file (YAML or JSON); `HRSYNC_CONFIG` or the bundled sample. */
export function loadOrganisation(path: string = process.env.HRSYNC_CONFIG || SAMPLE_ORGANISATION_PATH): Organisation {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new OrganisationConfigError(path, (err as Error).message);
  }
  const parsed = Organisation.safeParse(raw);
  if (!parsed.success) {
    const { message, issues } = describeInvalid(parsed.error);
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ${issues.slice(1, 4).map((i) => i.field).join(', ')})` : '';
    throw new OrganisationConfigError(path, message + more);
  }
  return parsed.data;
}

/**
 * The organisation file as it is now, for a process that reads it for every workflow: parsed
 * again only when the file changed on disk, so an edit takes effect without a restart. The
 * result is frozen, since every caller shares it.
 */
export function currentOrganisation(path: string = process.env.HRSYNC_CONFIG || SAMPLE_ORGANISATION_PATH): () => Organisation {
  let cached: { stamp: string; organisation: Organisation } | undefined;
  return () => {
    let stamp: string;
    try {
      const { mtimeMs, size, ino } = statSync(path);
      stamp = `${mtimeMs}:${size}:${ino}`;
    } catch {
      return loadOrganisation(path); // says what is wrong with the path
    }
    if (cached?.stamp !== stamp) cached = { stamp, organisation: deepFreeze(loadOrganisation(path)) };
    return cached.organisation;
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
