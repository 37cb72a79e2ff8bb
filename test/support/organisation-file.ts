import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { SAMPLE_ORGANISATION_PATH } from '../../domain/load-organisation';

/**
 * The sample organisation with a test's changes (timers of seconds, a lower threshold), written
 * as `organisation.yaml` in `dir`; returns its path (for HRSYNC_CONFIG or `organisationPath`).
 * `raw` is the YAML before validation, so a change may also make it invalid on purpose.
 */
export function sampleOrganisationFile(dir: string, change: (raw: Record<string, any>) => void): string {
  const raw = parseYaml(readFileSync(SAMPLE_ORGANISATION_PATH, 'utf8')) as Record<string, any>;
  change(raw);
  const path = join(dir, 'organisation.yaml');
  writeFileSync(path, stringifyYaml(raw));
  return path;
}
