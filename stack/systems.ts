import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Systems } from '../activities';
import { aiMapper, openAiClient, postgresDecisionStore } from '../activities/ai';
import { postgresAuditStore } from '../activities/audit';
import { bambooHr } from '../activities/hris';
import { lmsAdapter } from '../activities/lms-vendors';
import { currentOrganisation } from '../domain/load-organisation';
import type { HrsyncConfig } from './config';

/** The adapters chosen by configuration, wired to the systems they touch. */
export function connectSystems(config: HrsyncConfig, pool: pg.Pool, temporal: Client): Systems {
  return {
    hris: bambooHr(config.hris),
    lms: lmsAdapter(config.lms),
    audit: postgresAuditStore(pool),
    ai: aiMapper({ client: openAiClient(config.ai), model: config.ai.model, timeoutMs: config.ai.timeoutMs, store: postgresDecisionStore(pool) }),
    organisation: currentOrganisation(config.organisationPath),
    intake: { temporal, pool, taskQueue: config.taskQueue },
  };
}
