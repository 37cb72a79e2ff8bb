import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { isoDateOf } from '../domain/dates';
import {
  completionKey,
  hrisSkills,
  jobChangeProposal,
  recertificationSchedule,
  trainingEvidence,
  type Completion,
  type HrisSkill,
  type JobChangeRequest,
  type RecertificationSchedule,
  type TrainingEvidence,
} from '../domain/learning';
import type { Organisation } from '../domain/organisation';
import { inferSkills } from '../domain/skills';
import { certifiedSignal, recertificationWorkflowId } from '../workflows/definitions';
import type { AiMapper } from './ai';
import type { Hris } from './hris';
import { submitCompletion, type IntakeDeps } from './intake';
import type { Lms } from './lms';

export interface TrainingRecordSummary {
  courseId: string;
  completedAt: string;
  score: number | null;
  expiresAt: string | null;
}

/** The latest training record of each course the person completed. */
export async function latestTrainingRecords(pool: pg.Pool, employeeId: string): Promise<TrainingRecordSummary[]> {
  const res = await pool.query(
    `SELECT DISTINCT ON (course_id) course_id, completed_at, score, expires_at FROM training_records WHERE employee_id = $1 ORDER BY course_id, completed_at DESC`,
    [employeeId],
  );
  return res.rows.map((r) => ({
    courseId: r.course_id as string,
    completedAt: (r.completed_at as Date).toISOString(),
    score: r.score === null ? null : Number(r.score),
    expiresAt: r.expires_at ? (r.expires_at as Date).toISOString() : null,
  }));
}

/** The intake source of completions read by the poller (webhooks are `lms`). */
export const COMPLETION_POLL_SOURCE = 'lms-poll';

// Learning flowing back: the training record, the skills it shows (in the HRIS), the job change
// they may propose, and the renewal of a certificate.

export function learningActivities(deps: { hris: Hris; lms: Lms; ai: AiMapper; organisation: () => Organisation; intake: IntakeDeps }) {
  const { pool } = deps.intake;
  return {
    /** Writes the training record once per completion; a second delivery finds it there. */
    async recordTraining(input: { completion: Completion; source: string }): Promise<TrainingEvidence & { recorded: boolean; completionKey: string }> {
      const { completion: c, source } = input;
      const { workflowId = '', runId = '' } = Context.current().info.workflowExecution ?? {};
      const evidence = trainingEvidence(c, deps.organisation());
      const key = completionKey(c);
      const res = await pool.query(
        `INSERT INTO training_records (completion_key, employee_id, course_id, course_title, completed_at, score, expires_at, regulation, requirement, retention_years, source, workflow_id, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (completion_key) DO NOTHING`,
        [key, c.employeeId, c.courseId, evidence.courseTitle, c.completedAt, c.score, evidence.expiresAt, evidence.regulation, evidence.requirement, evidence.retentionYears, source, workflowId, runId],
      );
      return { ...evidence, recorded: res.rowCount === 1, completionKey: key };
    },

    /**
     * What the person's completed training shows: the organisation's skill↔course table over
     * their training records (with scores) and any other completion the LMS holds for them,
     * and, for a completed course no skill lists, its title normalised onto the taxonomy by the
     * AI mapper (deterministic fallback) as foundational evidence.
     */
    async assessSkills(input: { completion: Completion; workflowId: string }): Promise<{ skills: HrisSkill[]; normalisationDecisionId: number | null; mapper: string | null }> {
      const org = deps.organisation();
      const { completion: c } = input;
      type Done = { courseId: string; status: 'completed'; completedAt: string | null; score: number | null };
      const completed = new Map<string, Done>();
      const learner = await deps.lms.findLearner(c.employeeId);
      for (const e of learner?.enrollments ?? []) if (e.status === 'completed') completed.set(e.courseId, { courseId: e.courseId, status: 'completed', completedAt: e.completedAt, score: null });
      for (const r of await latestTrainingRecords(pool, c.employeeId)) completed.set(r.courseId, { courseId: r.courseId, status: 'completed', completedAt: r.completedAt, score: r.score });
      completed.set(c.courseId, { courseId: c.courseId, status: 'completed', completedAt: c.completedAt, score: c.score });
      const inferred = inferSkills([...completed.values()], org);
      const listed = new Set(org.skills.flatMap((s) => s.courses));
      const unlisted = [...completed.keys()].filter((code) => !listed.has(code));
      let normalisationDecisionId: number | null = null;
      let mapper: string | null = null;
      if (unlisted.length) {
        const titles = unlisted.map((code) => org.courses.find((x) => x.code === code)?.title ?? code);
        const answer = await deps.ai.normaliseSkills(titles, org, { employeeId: c.employeeId, workflowId: input.workflowId });
        normalisationDecisionId = answer.decisionId;
        mapper = answer.mapper;
        answer.skills.forEach((s, i) => {
          const skill = s.skillId && s.confidence >= org.ai.confidenceThreshold ? org.skills.find((x) => x.id === s.skillId) : undefined;
          if (!skill || inferred.some((x) => x.skillId === skill.id)) return;
          const course = completed.get(unlisted[i]!)!;
          inferred.push({ skillId: skill.id, label: skill.label, proficiency: 'foundational', evidence: [{ courseId: course.courseId, completedAt: course.completedAt }] });
        });
      }
      return { skills: hrisSkills(inferred, isoDateOf(new Date())), normalisationDecisionId, mapper };
    },

    async writeHrisSkills(input: { employeeId: string; skills: HrisSkill[] }) {
      return deps.hris.writeSkills(input.employeeId, input.skills);
    },

    /**
     * The job change the organisation proposes for this person's skills and current job, if any:
     * not one already filed in the HRIS, nor one a person already declined (each is asked once
     * per move, not on every later completion).
     */
    async proposeJobChange(input: { employeeId: string; skills: HrisSkill[] }) {
      const profile = await deps.hris.getProfile(input.employeeId);
      if (!profile || profile.terminationDate) return null;
      const proposal = jobChangeProposal(profile.jobCode, input.skills, deps.organisation());
      if (!proposal) return null;
      const move = { fromJobCode: profile.jobCode, toJobCode: proposal.rule.to };
      if (await deps.hris.hasJobChangeRequest(input.employeeId, move)) return null;
      const declined = await pool.query(
        `SELECT 1 FROM audit_log WHERE employee_id = $1 AND kind = 'learning' AND action = 'job-change-declined' AND detail->>'fromJobCode' = $2 AND detail->>'toJobCode' = $3 LIMIT 1`,
        [input.employeeId, move.fromJobCode, move.toJobCode],
      );
      if (declined.rowCount) return null;
      return { ...move, fromJobTitle: profile.jobTitle, toJobTitle: proposal.toJobTitle, reason: proposal.reason };
    },

    async fileJobChangeRequest(request: JobChangeRequest) {
      return deps.hris.fileJobChangeRequest(request);
    },

    /** Starts the certificate's renewal timers, or moves them to this completion's expiry. */
    async scheduleRecertification(input: { employeeId: string; courseId: string; completedAt: string; expiresAt: string }): Promise<RecertificationSchedule & { workflowId: string }> {
      const schedule = recertificationSchedule(input.expiresAt, deps.organisation());
      const workflowId = recertificationWorkflowId(input.employeeId, input.courseId);
      await deps.intake.temporal.workflow.signalWithStart('recertification', {
        workflowId,
        taskQueue: deps.intake.taskQueue,
        args: [{ employeeId: input.employeeId, courseId: input.courseId }],
        signal: certifiedSignal,
        signalArgs: [{ completedAt: input.completedAt, expiresAt: input.expiresAt }],
        memo: { summary: `Renewal of ${input.courseId} for employee ${input.employeeId}` },
      });
      return { ...schedule, workflowId };
    },

    /**
     * Reads the completions the LMS recorded since the watermark kept in PostgreSQL and takes
     * each (deduplicated: a webhook may have brought it already), then moves the watermark. The
     * first poll only sets the watermark to now; `since` reads from an earlier point (a backfill).
     */
    async pollLmsCompletions(input: { since?: string | null } = {}) {
      const source = COMPLETION_POLL_SOURCE;
      const row = await pool.query('SELECT watermark FROM lms_watermarks WHERE source = $1', [source]);
      const since = input.since ?? (row.rows[0]?.watermark as string | null | undefined);
      if (since === undefined) {
        const now = new Date().toISOString();
        await pool.query('INSERT INTO lms_watermarks (source, watermark) VALUES ($1, $2) ON CONFLICT (source) DO NOTHING', [source, now]);
        return { since: null, watermark: now, found: 0, accepted: 0, duplicates: 0, started: true };
      }
      const { completions, watermark } = await deps.lms.completionsSince(since);
      let accepted = 0;
      for (const [i, c] of completions.entries()) {
        if ((await submitCompletion(deps.intake, c, source)).status === 'accepted') accepted++;
        Context.current().heartbeat({ done: i + 1, of: completions.length });
      }
      await pool.query(
        `INSERT INTO lms_watermarks (source, watermark, last_count) VALUES ($1, $2, $3)
         ON CONFLICT (source) DO UPDATE SET watermark = EXCLUDED.watermark, last_count = EXCLUDED.last_count, polled_at = now()`,
        [source, watermark, completions.length],
      );
      return { since, watermark, found: completions.length, accepted, duplicates: completions.length - accepted, started: false };
    },

    /** Enrolls the person again ahead of the certificate's expiry, if they are still employed. */
    async reenrollForRecertification(input: { employeeId: string; courseId: string; expiresAt: string }) {
      const profile = await deps.hris.getProfile(input.employeeId);
      if (!profile || (profile.terminationDate && Date.parse(profile.terminationDate) <= Date.now())) return { outcome: 'not-employed' as const };
      const schedule = recertificationSchedule(input.expiresAt, deps.organisation());
      const step = await deps.lms.reenrollLearner(input.employeeId, input.courseId, schedule.dueDate);
      return { outcome: step.outcome, dueDate: schedule.dueDate };
    },
  };
}
