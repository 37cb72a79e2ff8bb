import { CancellationScope, isCancellation, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { instantOf } from '../domain/dates';
import type { HrEvent } from '../domain/hr-event';
import { closeOut } from '../domain/lifecycle';
import { separationOf } from '../domain/plan';
import { SyncStatusKey } from './definitions';
import { auditContext, now, requestFor, syncLearnerWithHr, type SyncContext, type SyncResult } from './learner-sync';
import { activities } from './activities';

const { archiveTrainingRecords, readCoursesLed, recordAudit } = activities;

/**
 * When someone leaves (a termination, or a contract that ran out): archive their training
 * records with retention dates, report what mandatory training was left incomplete and which
 * courses they teach or wrote, before the account is deactivated. Only runs when the plan closes
 * an existing account.
 */
export async function closeOutSeparation(ctx: SyncContext): Promise<void> {
  if (ctx.desired.active || !ctx.actual) return;
  const report = closeOut(ctx.profile, ctx.organisation, ctx.actual, separationOf(ctx.profile));
  const [archived, coursesLed] = await Promise.all([
    archiveTrainingRecords({ employeeId: ctx.request.employeeId, separatedOn: report.separatedOn, workflowId: ctx.base.workflowId!, records: report.archive }),
    readCoursesLed(ctx.request.employeeId),
  ]);
  ctx.audit.push(
    { ...ctx.base, kind: 'report', action: 'records-archived', result: `${report.archive.length} records`, detail: { separatedOn: report.separatedOn, newlyArchived: archived, records: report.archive }, idempotencyKey: ctx.key('report:archive') },
    { ...ctx.base, kind: 'report', action: 'close-out', result: `${report.incompleteMandatory.length} mandatory courses incomplete`, detail: { incompleteMandatory: report.incompleteMandatory }, idempotencyKey: ctx.key('report:close-out') },
    { ...ctx.base, kind: 'report', action: 'knowledge-retention', result: `${coursesLed.length} courses taught or authored`, detail: { coursesLed }, idempotencyKey: ctx.key('report:knowledge') },
  );
}

/**
 * A termination: wait on a durable timer until the termination date (a date means its first
 * moment; a date-time, that moment), then archive, report and deactivate the account. Never
 * deletes it; a rehire reactivates the same account.
 */
export async function offboarding(input: { event: HrEvent }): Promise<SyncResult> {
  const { event } = input;
  const request = requestFor(event);
  const separationAt = event.termination!.date;
  const wait = instantOf(separationAt) - Date.now();
  if (wait > 0) {
    const { base, key } = auditContext(request);
    await recordAudit([{ ...base, kind: 'schedule', action: 'deactivation-scheduled', result: separationAt, detail: { at: new Date(instantOf(separationAt)).toISOString(), reasonCode: event.termination!.reasonCode }, idempotencyKey: key('schedule') }]);
    upsertSearchAttributes([{ key: SyncStatusKey, value: 'awaiting-termination-date' }]);
    try {
      await sleep(wait);
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() =>
          recordAudit([{ ...base, kind: 'outcome', action: event.type, result: 'superseded', detail: { reason: 'cancelled while waiting for the termination date' }, idempotencyKey: key('outcome') }]),
        );
      }
      throw err;
    }
  }
  return syncLearnerWithHr(request, {
    asOf: now(),
    change: { type: 'separation' },
    // The HRIS may not carry the date yet (an identity-provider deactivation): the event's counts.
    adjustProfile: (profile) => ({ ...profile, terminationDate: profile.terminationDate ?? separationAt }),
    beforeApply: closeOutSeparation,
  });
}
