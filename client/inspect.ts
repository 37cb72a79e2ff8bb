import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { postgresAuditStore } from '../activities/audit';
import { bambooHr } from '../activities/hris';
import { docebo } from '../activities/lms';
import { isoDateOf } from '../domain/dates';
import type { HrProfile } from '../domain/hr-event';
import { loadOrganisation } from '../domain/load-organisation';
import type { ActualLmsState, DesiredLmsState, PlanStep } from '../domain/lms-state';
import { desiredLmsState, planChanges } from '../domain/plan';
import type { HrsyncConfig } from '../stack/config';
import { EmployeeIdKey } from '../workflows/definitions';

// What `hrsync status` and `hrsync plan` show: read-only views over the HRIS, the LMS, Temporal
// and the audit trail, through the same adapters and planning functions the workflows use.

export interface EmployeeStatus {
  employee: HrProfile | null;
  lms: null | { userId: string; active: boolean; branch: string | null; groups: string[]; enrollments: { courseId: string; status: string; dueDate: string | null }[] };
  workflows: { workflowId: string; type: string; status: string; startTime: string }[];
  pendingApprovals: unknown[];
  audit: { at: string; kind: string; action: string; result: string; eventId: string | null; workflowId: string | null }[];
}

async function withSystem<T>(system: string, url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${system} at ${url}: ${(err as Error).message}`);
  }
}

export async function employeeStatus(config: HrsyncConfig, temporal: Client, pool: pg.Pool, employeeId: string): Promise<EmployeeStatus> {
  const [employee, learner, workflows, audit] = await Promise.all([
    withSystem('HRIS', config.hris.baseUrl, () => bambooHr(config.hris).getProfile(employeeId)),
    withSystem('LMS', config.lms.baseUrl, () => docebo(config.lms).findLearner(employeeId)),
    withSystem('Temporal', config.temporalAddress, async () => {
      const found: EmployeeStatus['workflows'] = [];
      const query = `${EmployeeIdKey.name} = "${employeeId.replace(/"/g, '')}"`;
      for await (const wf of temporal.workflow.list({ query })) {
        found.push({ workflowId: wf.workflowId, type: wf.type, status: wf.status.name, startTime: wf.startTime.toISOString() });
        if (found.length >= 50) break;
      }
      return found.sort((a, b) => a.startTime.localeCompare(b.startTime));
    }),
    withSystem('PostgreSQL', 'DATABASE_URL', () => postgresAuditStore(pool).forEmployee(employeeId, 20)),
  ]);
  return {
    employee,
    lms: learner && {
      userId: learner.userId,
      active: learner.active,
      branch: learner.branch,
      groups: learner.groups,
      enrollments: learner.enrollments.map((e) => ({ courseId: e.courseId, status: e.status, dueDate: e.dueDate })),
    },
    workflows,
    pendingApprovals: [],
    audit: audit.map((a) => ({ at: a.recordedAt, kind: a.kind, action: a.action, result: a.result, eventId: a.eventId ?? null, workflowId: a.workflowId ?? null })),
  };
}

export interface EmployeePlan {
  desired: DesiredLmsState;
  actual: ActualLmsState | null;
  steps: PlanStep[];
}

/** The dry run: what the LMS should hold today and the steps that would get it there. */
export async function employeePlan(config: HrsyncConfig, employeeId: string, asOf = isoDateOf(new Date())): Promise<EmployeePlan> {
  const [profile, actual] = await Promise.all([
    withSystem('HRIS', config.hris.baseUrl, () => bambooHr(config.hris).getProfile(employeeId)),
    withSystem('LMS', config.lms.baseUrl, () => docebo(config.lms).findLearner(employeeId)),
  ]);
  if (!profile) throw new Error(`employee ${employeeId} is not in the HRIS (${config.hris.baseUrl})`);
  const desired = desiredLmsState(profile, loadOrganisation(), asOf);
  return { desired, actual, steps: planChanges(desired, actual) };
}
