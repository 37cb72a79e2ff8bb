import type { Organisation } from '../domain/organisation';
import { aiActivities, type AiMapper } from './ai';
import { auditActivities, type AuditStore } from './audit';
import { hrisActivities, type Hris } from './hris';
import { identityActivities } from './identity';
import type { IntakeDeps } from './intake';
import { learningActivities } from './learning';
import { lmsActivities, planActivities, type Lms } from './lms';
import { organisationActivities } from './organisation';
import { personActivities } from './person';
import { reconciliationActivities } from './reconciliation';

export interface Systems {
  hris: Hris;
  lms: Lms;
  audit: AuditStore;
  ai: AiMapper;
  organisation: () => Organisation;
  /** For activities that hand canonical events to the entity workflows (identity events). */
  intake: IntakeDeps;
}

export function createActivities(systems: Systems) {
  return {
    ...hrisActivities(systems.hris),
    ...lmsActivities(systems.lms),
    ...planActivities(systems.lms, systems.audit),
    ...auditActivities(systems.audit),
    ...organisationActivities(systems.organisation),
    ...personActivities(systems),
    ...aiActivities(systems.ai, systems.organisation),
    ...identityActivities(systems.hris, systems.intake.pool, systems.intake),
    ...learningActivities({ hris: systems.hris, lms: systems.lms, ai: systems.ai, organisation: systems.organisation, intake: systems.intake }),
    ...reconciliationActivities({ hris: systems.hris, lms: systems.lms, organisation: systems.organisation, intake: systems.intake, pool: systems.intake.pool }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
