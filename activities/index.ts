import type { Organisation } from '../domain/organisation';
import { aiActivities, type AiMapper } from './ai';
import { auditActivities, type AuditStore } from './audit';
import { hrisActivities, type Hris } from './hris';
import { lmsActivities, type Lms } from './lms';
import { organisationActivities } from './organisation';

export interface Systems {
  hris: Hris;
  lms: Lms;
  audit: AuditStore;
  ai: AiMapper;
  organisation: () => Organisation;
}

export function createActivities(systems: Systems) {
  return {
    ...hrisActivities(systems.hris),
    ...lmsActivities(systems.lms),
    ...auditActivities(systems.audit),
    ...organisationActivities(systems.organisation),
    ...aiActivities(systems.ai, systems.organisation),
  };
}

export type Activities = ReturnType<typeof createActivities>;
