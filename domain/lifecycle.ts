import { addMonths, instantOf } from './dates';
import type { HrProfile } from './hr-event';
import type { ActualLmsState, DesiredLmsState, EnrollmentStatus } from './lms-state';
import type { Organisation } from './organisation';
import { desiredLmsState, separationOf } from './plan';

// Pure answers to the lifecycle questions HR and compliance ask: what must this person still
// learn, when does their contract run out, and what is left open when they leave.

export interface GapItem {
  courseId: string;
  dueDate: string;
  requiredBy: string[];
  /** Where the person stands on it today. */
  status: EnrollmentStatus | 'not-enrolled';
}

/** Every requirement of the person's role and site that has no completed record. */
export function outstandingTraining(desired: DesiredLmsState, actual: ActualLmsState | null): GapItem[] {
  const have = new Map((actual?.enrollments ?? []).map((e) => [e.courseId, e.status]));
  return desired.enrollments
    .filter((e) => have.get(e.courseId) !== 'completed')
    .map((e) => ({ courseId: e.courseId, dueDate: e.dueDate, requiredBy: e.requiredBy, status: have.get(e.courseId) ?? 'not-enrolled' }));
}

/**
 * The competency gap a change opens: requirements of the new role or site that the person was
 * not already assigned and has not completed (or whose certificate lapsed). Training already
 * under way for the old role is not part of it.
 */
export function competencyGap(desired: DesiredLmsState, actual: ActualLmsState | null): GapItem[] {
  return outstandingTraining(desired, actual).filter((g) => g.status === 'not-enrolled' || g.status === 'expired');
}

export interface ContractWatch {
  /** The contract's end (a date means its midnight UTC); the account goes inactive then. */
  endsAt: string;
  /** When the sponsor is reminded, `reminderDaysBeforeEnd` earlier. */
  remindAt: string;
  sponsorId: string | null;
}

/** The timers a contractor's contract sets, or null for anyone else. */
export function contractWatch(profile: HrProfile, org: Organisation): ContractWatch | null {
  if (profile.employmentType !== 'contractor' || !profile.contract) return null;
  const endsAt = profile.contract.endDate;
  // A contractor whose departure is set leaves by it (offboarding), not by the contract's end.
  if (profile.terminationDate && instantOf(profile.terminationDate) <= instantOf(endsAt)) return null;
  const remindAt = new Date(instantOf(endsAt) - org.contractors.reminderDaysBeforeEnd * 86_400_000).toISOString();
  return { endsAt, remindAt, sponsorId: profile.contract.sponsorId ?? profile.managerId ?? null };
}

export interface ArchivedRecord {
  courseId: string;
  status: EnrollmentStatus;
  completedAt: string | null;
  dueDate: string | null;
  /** Kept until this date: the separation date plus the course's retention period. */
  retentionUntil: string;
}

export interface CloseOut {
  separatedOn: string;
  /** Mandatory training of the person's last role and site that was not completed. */
  incompleteMandatory: GapItem[];
  archive: ArchivedRecord[];
}

/** What HR closes out and what compliance keeps when someone leaves on `separatedAt`. */
export function closeOut(profile: HrProfile, org: Organisation, actual: ActualLmsState | null, separatedAt = separationOf(profile)): CloseOut {
  const separatedOn = (separatedAt ?? profile.startDate).slice(0, 10);
  // What was required while employed: the same profile with the separation set aside.
  const whileEmployed = desiredLmsState({ ...profile, terminationDate: null, contract: profile.contract && { ...profile.contract, endDate: '9999-12-31' } }, org, separatedOn);
  const retentionYears = (courseId: string) => org.courses.find((c) => c.code === courseId)?.retentionYears ?? org.defaultRetentionYears;
  return {
    separatedOn,
    incompleteMandatory: outstandingTraining(whileEmployed, actual),
    archive: (actual?.enrollments ?? []).map((e) => ({
      courseId: e.courseId,
      status: e.status,
      completedAt: e.completedAt ?? null,
      dueDate: e.dueDate,
      retentionUntil: addMonths(separatedOn, 12 * retentionYears(e.courseId)),
    })),
  };
}
