import { z } from 'zod';
import { durationMs } from './durations';
import { IsoDateTime } from './hr-event';
import { PROFICIENCY, Proficiency, type Organisation } from './organisation';
import type { InferredSkill } from './skills';

// Learning flowing back: what the LMS reports a person completed, the training record it becomes,
// the skills it shows (written to the HRIS) and what follows from them (a recertification, a
// job-change request). Adapters and webhooks translate vendor shapes into these.

export const Completion = z.object({
  employeeId: z.string().trim().min(1, 'must not be empty'),
  /** The organisation's course code. */
  courseId: z.string().trim().min(1, 'must not be empty'),
  completedAt: IsoDateTime,
  /** 0–100 when the course is scored. */
  score: z.number().min(0).max(100).nullable().default(null),
});
export type Completion = z.infer<typeof Completion>;

/** One completion is one record, however many times and by whichever path it arrives. */
export function completionKey(c: Pick<Completion, 'employeeId' | 'courseId' | 'completedAt'>): string {
  return `${c.employeeId}:${c.courseId}:${new Date(c.completedAt).toISOString()}`;
}

/** The instant `months` calendar months after `at` (UTC), as an ISO date-time. */
export function monthsAfter(at: string, months: number): string {
  const d = new Date(at);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString();
}

/**
 * What the training record holds (SPEC §10: trigger, interval, what the record holds, retention,
 * citation): the course, when and how well, until when the certificate is valid, how long the
 * record is kept, and the regulation behind it.
 */
export function trainingEvidence(c: Completion, org: Organisation) {
  const course = org.courses.find((x) => x.code === c.courseId);
  const completedAt = new Date(c.completedAt).toISOString();
  return {
    courseTitle: course?.title ?? null,
    managed: !!course,
    expiresAt: course?.recertifyMonths ? monthsAfter(completedAt, course.recertifyMonths) : null,
    recertifyMonths: course?.recertifyMonths ?? null,
    retentionYears: course?.retentionYears ?? org.defaultRetentionYears,
    regulation: course?.citation?.regulation ?? null,
    requirement: course?.citation?.requirement ?? null,
  };
}
export type TrainingEvidence = ReturnType<typeof trainingEvidence>;

/** When a certificate's renewal happens: the reminder, then the new enrollment, both before it expires. */
export function recertificationSchedule(expiresAt: string, org: Organisation) {
  const expiry = Date.parse(expiresAt);
  const { remindBefore, reenrollBefore } = org.learning.recertification;
  return {
    expiresAt: new Date(expiry).toISOString(),
    remindAt: new Date(expiry - durationMs(remindBefore)).toISOString(),
    reenrollAt: new Date(expiry - durationMs(reenrollBefore)).toISOString(),
    /** The new enrollment is due when the certificate expires. */
    dueDate: new Date(expiry).toISOString().slice(0, 10),
  };
}
export type RecertificationSchedule = ReturnType<typeof recertificationSchedule>;

/** A skill as the HRIS profile holds it (a BambooHR-style custom table row). */
export const HrisSkill = z.object({
  skillId: z.string().min(1),
  label: z.string().min(1),
  proficiency: Proficiency,
  /** The completed courses that show it, comma-separated in the HRIS. */
  evidence: z.array(z.string()),
  assessedOn: z.iso.date(),
});
export type HrisSkill = z.infer<typeof HrisSkill>;

export function hrisSkills(inferred: InferredSkill[], assessedOn: string): HrisSkill[] {
  return inferred.map((s) => ({ skillId: s.skillId, label: s.label, proficiency: s.proficiency, evidence: s.evidence.map((e) => e.courseId).sort(), assessedOn }));
}

/** A request for HR to move a person to another job; filed in the HRIS only after approval. */
export const JobChangeRequest = z.object({
  requestId: z.string().min(1),
  employeeId: z.string().min(1),
  fromJobCode: z.string(),
  toJobCode: z.string(),
  toJobTitle: z.string(),
  reason: z.string(),
  approvedBy: z.string(),
});
export type JobChangeRequest = z.infer<typeof JobChangeRequest>;

const atLeast = (have: Proficiency, want: Proficiency) => PROFICIENCY.indexOf(have) >= PROFICIENCY.indexOf(want);

/** The job change the organisation proposes for someone in `jobCode` with these skills, if any. */
export function jobChangeProposal(jobCode: string, skills: Pick<HrisSkill, 'skillId' | 'proficiency' | 'evidence'>[], org: Organisation) {
  for (const rule of org.learning.jobChanges) {
    if (!rule.from.includes(jobCode)) continue;
    const skill = skills.find((s) => s.skillId === rule.skill && atLeast(s.proficiency, rule.proficiency));
    if (!skill) continue;
    const to = org.jobCodes.find((j) => j.code === rule.to)!;
    return { rule, toJobTitle: to.title, reason: `${rule.skill} at ${skill.proficiency} (at least ${rule.proficiency}), shown by ${skill.evidence.join(', ')}` };
  }
  return null;
}

/**
 * Where a person stands on a certificate, from the latest training record of the course:
 * `valid` until it expires (`renewal-open` once they are enrolled again to renew it), then
 * `overdue` (an expired certificate is not met, as in the compliance report).
 */
export function certificationStanding(record: { courseId: string; completedAt: string; expiresAt: string | null }, now: string): 'valid' | 'overdue' | 'no-expiry' {
  if (!record.expiresAt) return 'no-expiry';
  return Date.parse(record.expiresAt) <= Date.parse(now) ? 'overdue' : 'valid';
}
