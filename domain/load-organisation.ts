import { readFileSync } from 'node:fs';
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
