import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AuditEntry } from '../domain/audit';
import { recertificationSchedule, type Completion } from '../domain/learning';
import { activities } from './activities';
import { approvalDesk } from './approval';
import { certifiedSignal, recertificationQuery, type RecertificationView } from './definitions';

const {
  recordTraining,
  assessSkills,
  writeHrisSkills,
  proposeJobChange,
  fileJobChangeRequest,
  scheduleRecertification,
  reenrollForRecertification,
  readOrganisation,
  recordAudit,
  notify,
} = activities;

const audit = (employeeId: string, entries: Omit<AuditEntry, 'workflowId' | 'runId' | 'employeeId'>[]) =>
  recordAudit(entries.map((e) => ({ ...e, employeeId, workflowId: workflowInfo().workflowId, runId: workflowInfo().runId })));

export interface LearningRecordResult {
  completionKey: string;
  recorded: boolean;
  skills: { skillId: string; proficiency: string }[];
  hris: { added: string[]; updated: string[]; unchanged: string[] } | null;
  recertification: { workflowId: string; reenrollAt: string; expiresAt: string } | null;
  jobChange: { toJobCode: string; decision: 'approve' | 'reject'; approver: string; filed: boolean } | null;
}

/**
 * One completion reported by the LMS: the training record, the skills it shows written to the
 * HRIS profile, the certificate's renewal timers, and — when the organisation says a skill level
 * qualifies someone for another job — a job-change request that waits for an HR decision.
 */
export async function learningRecord(input: { completion: Completion; source: string }): Promise<LearningRecordResult> {
  const { completion, source } = input;
  const { employeeId } = completion;
  const key = (name: string) => `${workflowInfo().workflowId}:${name}`;
  const desk = approvalDesk();

  const record = await recordTraining({ completion, source });
  await audit(employeeId, [
    {
      kind: 'learning',
      action: 'training-recorded',
      result: record.recorded ? 'recorded' : 'already-recorded',
      detail: { courseId: completion.courseId, completedAt: completion.completedAt, score: completion.score, source, ...record },
      idempotencyKey: key('recorded'),
    },
  ]);

  const organisation = await readOrganisation();
  const { skills, normalisationDecisionId, mapper } = await assessSkills({ completion, workflowId: workflowInfo().workflowId });
  let hris: LearningRecordResult['hris'] = null;
  if (organisation.learning.writeSkillsToHris && skills.length) {
    hris = await writeHrisSkills({ employeeId, skills });
    await audit(employeeId, [{ kind: 'learning', action: 'skills-written', result: `${hris.added.length} added, ${hris.updated.length} updated`, detail: { skills, ...hris, normalisationDecisionId, mapper }, idempotencyKey: key('skills') }]);
  }

  let recertification: LearningRecordResult['recertification'] = null;
  if (record.expiresAt) {
    const scheduled = await scheduleRecertification({ employeeId, courseId: completion.courseId, completedAt: completion.completedAt, expiresAt: record.expiresAt });
    recertification = { workflowId: scheduled.workflowId, reenrollAt: scheduled.reenrollAt, expiresAt: scheduled.expiresAt };
    await audit(employeeId, [{ kind: 'learning', action: 'recertification-scheduled', result: scheduled.reenrollAt, detail: scheduled, idempotencyKey: key('recertification') }]);
  }

  let jobChange: LearningRecordResult['jobChange'] = null;
  const proposal = await proposeJobChange({ employeeId, skills });
  if (proposal) {
    const line = `job-change request in the HRIS: ${proposal.fromJobCode} (${proposal.fromJobTitle}) → ${proposal.toJobCode} (${proposal.toJobTitle})`;
    const decided = await desk.request({
      kind: 'job-change',
      policy: organisation.approvals.kinds['job-change']!,
      employeeId,
      eventId: null,
      subject: `Training of ${employeeId} qualifies for ${proposal.toJobTitle}`,
      reasons: [proposal.reason],
      plan: [],
      changes: [line],
    });
    let filed = false;
    if (decided.decision === 'approve') {
      const request = { requestId: workflowInfo().workflowId, employeeId, fromJobCode: proposal.fromJobCode, toJobCode: proposal.toJobCode, toJobTitle: proposal.toJobTitle, reason: proposal.reason, approvedBy: decided.approver };
      const res = await fileJobChangeRequest(request);
      filed = true;
      await audit(employeeId, [{ kind: 'learning', action: 'job-change-requested', result: res.outcome, detail: { ...request, hrisRowId: res.rowId }, idempotencyKey: key('job-change') }]);
    } else {
      // Declined: not asked again for this move on later completions.
      await audit(employeeId, [{ kind: 'learning', action: 'job-change-declined', result: decided.approver, detail: { fromJobCode: proposal.fromJobCode, toJobCode: proposal.toJobCode, reason: decided.reason }, idempotencyKey: key('job-change') }]);
    }
    jobChange = { toJobCode: proposal.toJobCode, decision: decided.decision, approver: decided.approver, filed };
  }

  return { completionKey: record.completionKey, recorded: record.recorded, skills: skills.map((s) => ({ skillId: s.skillId, proficiency: s.proficiency })), hris, recertification, jobChange };
}

/**
 * The renewal of one person's certificate in one course: a reminder `remindBefore` its expiry,
 * then a new enrollment `reenrollBefore` it, due on the expiry date. A new completion (the
 * `certified` signal) moves both timers to the new expiry; the workflow ends once the person is
 * enrolled again (their next completion starts the next renewal).
 */
export async function recertification(input: { employeeId: string; courseId: string }): Promise<RecertificationView | null> {
  const { employeeId, courseId } = input;
  let certificate: { completedAt: string; expiresAt: string } | null = null;
  let moved = false;
  let view: RecertificationView | null = null;
  setHandler(certifiedSignal, (c) => {
    // A late-arriving older completion must not pull the timers back.
    if (certificate && Date.parse(c.expiresAt) <= Date.parse(certificate.expiresAt)) return;
    certificate = c;
    moved = true;
  });
  setHandler(recertificationQuery, () => view, { description: 'When the certificate expires, when the person is reminded and enrolled again.' });
  const organisation = await readOrganisation();
  const wait = async (until: string) => {
    const ms = Date.parse(until) - Date.now();
    return ms > 0 ? !(await condition(() => moved, ms)) : !moved;
  };

  await condition(() => certificate !== null);
  for (;;) {
    moved = false;
    const cert: { completedAt: string; expiresAt: string } = certificate!;
    const { remindAt, reenrollAt } = recertificationSchedule(cert.expiresAt, organisation);
    view = { employeeId, courseId, ...cert, remindAt, reenrollAt, reminded: false, reenrolled: false };
    const current = view;
    const steps = [
      { at: current.remindAt, run: () => remind(current) },
      { at: current.reenrollAt, run: () => reenroll(current) },
    ].sort((a, b) => a.at.localeCompare(b.at));
    let interrupted = false;
    for (const step of steps) {
      if (!(await wait(step.at))) {
        interrupted = true;
        break;
      }
      await step.run();
    }
    if (!interrupted) return view;
  }

  async function remind(v: RecertificationView) {
    v.reminded = true;
    const idempotencyKey = `recertification-reminder:${employeeId}:${courseId}:${v.expiresAt}`;
    await notify({ recipientId: employeeId, aboutEmployee: employeeId, kind: 'recertification-reminder', subject: `${courseId} expires ${v.expiresAt.slice(0, 10)}: renew it before then`, detail: { courseId, expiresAt: v.expiresAt }, idempotencyKey });
    await audit(employeeId, [{ kind: 'learning', action: 'recertification-reminded', result: v.expiresAt, detail: { courseId }, idempotencyKey }]);
  }

  async function reenroll(v: RecertificationView) {
    const res = await reenrollForRecertification({ employeeId, courseId, expiresAt: v.expiresAt });
    v.reenrolled = res.outcome !== 'not-employed';
    await audit(employeeId, [{ kind: 'learning', action: 're-enrolled', result: res.outcome, detail: { courseId, expiresAt: v.expiresAt, ...res }, idempotencyKey: `re-enrolled:${employeeId}:${courseId}:${v.expiresAt}` }]);
  }
}

// A poll reads a page of the LMS's feed per call and may take a while: it heartbeats.
const { pollLmsCompletions } = proxyActivities<Activities>({ startToCloseTimeout: '15m', heartbeatTimeout: '1m', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } });

/** For LMSs without webhooks: completions since the last poll, each taken like a webhook's (on a Schedule). */
export async function completionPoll(input: { since?: string | null } = {}) {
  return pollLmsCompletions(input);
}
