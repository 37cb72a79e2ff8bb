import type { Organisation } from '../domain/organisation';

// The organisation config is read through an activity so each workflow run records the rules it
// applied in its history, and replays with exactly those.
export function organisationActivities(load: () => Organisation) {
  return {
    async readOrganisation(): Promise<Organisation> {
      return load();
    },
  };
}
