import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { aiMapper, openAiClient, postgresDecisionStore } from '../activities/ai';
import { postgresAuditStore } from '../activities/audit';
import { latestTrainingRecords } from '../activities/learning';
import { certificationStanding } from '../domain/learning';
import { withJobMapping, type JobMapping } from '../domain/ai';
import { bambooHr } from '../activities/hris';
import { lmsAdapter } from '../activities/lms-vendors';
import type { PendingApproval } from '../domain/approval';
import type { ArchivedRecord, GapItem } from '../domain/lifecycle';
import { pendingApprovals } from './approvals';
import type { HrProfile } from '../domain/hr-event';
import { loadOrganisation } from '../domain/load-organisation';
import type { ActualLmsState, DesiredLmsState, PlanStep } from '../domain/lms-state';
import { desiredLmsState, planChanges } from '../domain/plan';
import type { HrsyncConfig } from '../stack/config';
import { EmployeeIdKey, entityWorkflowId, lifecycleQuery, type LifecycleView } from '../workflows/definitions';

// What `hrsync status` and `hrsync plan` show: read-only views over the HRIS, the LMS, Temporal
// and PostgreSQL, through the same adapters and planning functions the workflows use.

export interface EmployeeStatus {
  employee: HrProfile | null;
  lms: null | { userId: string; active: boolean; branch: string | null; groups: string[]; enrollments: { courseId: string; status: string; dueDate: string | null }[] };
  workflows: { workflowId: string; type: string; status: string; startTime: string }[];
  pendingApprovals: PendingApproval[];
  audit: { at: string; kind: string; action: string; result: string; eventId: string | null; workflowId: string | null }[];
  /**
   * The gap the last role change or transfer opened (new requirements not met by a completed
   * course), each with where the person stands on it now.
   */
  competencyGap: (GapItem & { statusNow: string })[];
  /** The employee workflow now: what runs, what waits in line, the contract timers. */
  lifecycle: Omit<LifecycleView, 'employeeId' | 'recent'> | null;
  accessGroups: string[];
  /** Training records archived at a separation, with their retention dates. */
  archive: (ArchivedRecord & { separatedOn: string })[];
  /** The latest training record of each course completed, with whether its certificate is still valid. */
  training: { courseId: string; completedAt: string; score: number | null; expiresAt: string | null; standing: ReturnType<typeof certificationStanding>; renewal: string | null }[];
}

async function withSystem<T>(system: string, where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${system} at ${where}: ${(err as Error).message}`);
  }
}

async function lifecycleOf(temporal: Client, employeeId: string): Promise<LifecycleView | null> {
  try {
    return await temporal.workflow.getHandle(entityWorkflowId(employeeId)).query(lifecycleQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

export async function employeeStatus(config: HrsyncConfig, temporal: Client, pool: pg.Pool, employeeId: string): Promise<EmployeeStatus> {
  const store = postgresAuditStore(pool);
  const [employee, learner, workflows, lifecycle, approvals, [audit, accessGroups, archive, gapReport, records]] = await Promise.all([
    withSystem('HRIS', config.hris.baseUrl, () => bambooHr(config.hris).getProfile(employeeId)),
    withSystem('LMS', config.lms.baseUrl, () => lmsAdapter(config.lms).findLearner(employeeId)),
    withSystem('Temporal', config.temporalAddress, async () => {
      const found: EmployeeStatus['workflows'] = [];
      const query = `${EmployeeIdKey.name} = "${employeeId.replace(/"/g, '')}"`;
      for await (const wf of temporal.workflow.list({ query })) {
        found.push({ workflowId: wf.workflowId, type: wf.type, status: wf.status.name, startTime: wf.startTime.toISOString() });
        if (found.length >= 50) break;
      }
      return found.sort((a, b) => a.startTime.localeCompare(b.startTime));
    }),
    withSystem('Temporal', config.temporalAddress, () => lifecycleOf(temporal, employeeId)),
    withSystem('Temporal', config.temporalAddress, () => pendingApprovals(temporal, employeeId)),
    withSystem('PostgreSQL', 'DATABASE_URL', () =>
      Promise.all([store.forEmployee(employeeId, 20), store.accessGroupsOf(employeeId), store.archiveOf(employeeId), store.latest(employeeId, 'report', 'competency-gap'), latestTrainingRecords(pool, employeeId)]),
    ),
  ]);
  const enrollment = new Map((learner?.enrollments ?? []).map((e) => [e.courseId, e]));
  const nowIso = new Date().toISOString();
  const training = records.map((record) => {
    const e = enrollment.get(record.courseId);
    // Enrolled again (not completed) since: the renewal under way, due on the expiry date.
    const renewal = record.expiresAt && e && e.status !== 'completed' ? `enrolled again, due ${e.dueDate ?? '?'}` : null;
    return { ...record, standing: certificationStanding(record, nowIso), renewal };
  });
  const now = new Map((learner?.enrollments ?? []).map((e) => [e.courseId, e.status]));
  const gap = ((gapReport?.detail as { gap?: GapItem[] } | undefined)?.gap ?? []).map((g) => ({ ...g, statusNow: now.get(g.courseId) ?? 'not-enrolled' }));
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
    pendingApprovals: approvals,
    audit: audit.map((a) => ({ at: a.recordedAt, kind: a.kind, action: a.action, result: a.result, eventId: a.eventId ?? null, workflowId: a.workflowId ?? null })),
    competencyGap: gap,
    lifecycle: lifecycle && { current: lifecycle.current, pending: lifecycle.pending, contract: lifecycle.contract },
    accessGroups,
    archive,
    training,
  };
}

export interface EmployeePlan {
  asOf: string;
  desired: DesiredLmsState;
  actual: ActualLmsState | null;
  steps: PlanStep[];
  /** For a job code the organisation does not know: the mapper's answer, applied unless it needs approval. */
  mapping: (JobMapping & { approvalReasons: string[] }) | null;
}

/** The dry run: what the LMS should hold at `asOf` (default now) and the steps that would get it there. */
export async function employeePlan(config: HrsyncConfig, pool: pg.Pool, employeeId: string, asOf = new Date().toISOString()): Promise<EmployeePlan> {
  const [profile, actual, accessGroups] = await Promise.all([
    withSystem('HRIS', config.hris.baseUrl, () => bambooHr(config.hris).getProfile(employeeId)),
    withSystem('LMS', config.lms.baseUrl, () => lmsAdapter(config.lms).findLearner(employeeId)),
    withSystem('PostgreSQL', 'DATABASE_URL', () => postgresAuditStore(pool).accessGroupsOf(employeeId)),
  ]);
  if (!profile) throw new Error(`employee ${employeeId} is not in the HRIS (${config.hris.baseUrl})`);
  const org = loadOrganisation(config.organisationPath);
  let planned: HrProfile = { ...profile, accessGroups };
  let mapping: EmployeePlan['mapping'] = null;
  if (!org.jobCodes.some((j) => j.code === profile.jobCode)) {
    // The same decision the workflows take (an LLM answer comes from the cache when asked before).
    const decision = await aiMapper({ client: openAiClient(config.ai), model: config.ai.model, timeoutMs: config.ai.timeoutMs, store: postgresDecisionStore(pool) }).mapJob(
      { jobTitle: profile.jobTitle, jobCode: profile.jobCode, department: profile.department, site: profile.site, employmentType: profile.employmentType },
      org,
      { person: profile, employeeId },
    );
    const { jobCode, role, groups, curricula, confidence, rationale, mapper, needsApproval, approvalReasons } = decision;
    mapping = { jobCode, role, groups, curricula, confidence, rationale, mapper, needsApproval, approvalReasons };
    if (!needsApproval) planned = withJobMapping(planned, decision);
  }
  const desired = desiredLmsState(planned, org, asOf);
  return { asOf, desired, actual, steps: planChanges(desired, actual), mapping };
}
