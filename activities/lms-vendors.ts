import type { HrsyncConfig } from '../stack/config';
import { absorb, type AbsorbConfig } from './absorb';
import { docebo, type Lms } from './lms';
import { absorbRoster, doceboRoster, type LmsRosterReader, type RosterReadOptions } from './lms-roster';

// The one place that turns `LMS_VENDOR` into an adapter. Adding a vendor: write its adapter
// (the `Lms` port, activities/lms.ts) and its simulator (simulators/), add a case here and in
// `lmsRoster`, add it to LMS_VENDORS (stack/config.ts), and add it to the list at the top of
// test/lms-contract.test.ts so the same contract suite runs against it.

type LmsConfig = HrsyncConfig['lms'];

function absorbConfig(config: LmsConfig): AbsorbConfig {
  const missing = (['username', 'password', 'apiKey'] as const).filter((k) => !config[k]);
  if (missing.length) {
    throw new Error(`LMS_VENDOR=absorb needs ${missing.map((k) => ({ username: 'LMS_USERNAME', password: 'LMS_PASSWORD', apiKey: 'LMS_API_KEY' })[k]).join(', ')}`);
  }
  return { baseUrl: config.baseUrl, username: config.username!, password: config.password!, privateKey: config.apiKey! };
}

/** The LMS port for the configured vendor. */
export function lmsAdapter(config: LmsConfig): Lms {
  switch (config.vendor) {
    case 'docebo':
      return docebo(config);
    case 'absorb':
      return absorb(absorbConfig(config));
  }
}

/** The bulk roster reader (compliance report) for the configured vendor. */
export function lmsRoster(config: LmsConfig, options: RosterReadOptions = {}): LmsRosterReader {
  switch (config.vendor) {
    case 'docebo':
      return doceboRoster(config, options);
    case 'absorb':
      return absorbRoster(absorbConfig(config), options);
  }
}
