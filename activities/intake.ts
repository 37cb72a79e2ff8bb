import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { HrEvent, HrProfile } from '../domain/hr-event';
import { completionKey, type Completion } from '../domain/learning';
import { EmployeeIdKey, entityWorkflowId, expectedEventWorkflowId, hrEventSignal, learningRecordWorkflowId } from '../workflows/definitions';

// The intake of canonical HR events, wherever they came from (POST /events, a BambooHR webhook,
// an Okta hook, SCIM, an SFTP file): each event id is taken once, handed to the employee's entity
// workflow, and recorded; vendor deliveries are kept raw, rejected ones in the dead-letter table.

/**
 * How long a hand-over to Temporal may take while a database transaction (and a pooled
 * connection) waits on it: with Temporal down, callers get their 503 after this, not after the
 * client's own retries, and the pool is not drained by requests that cannot succeed.
 */
export const HAND_OVER_DEADLINE_MS = 10_000;
export const handOver = <T>(deps: IntakeDeps, fn: () => Promise<T>) => deps.temporal.connection.withDeadline(Date.now() + HAND_OVER_DEADLINE_MS, fn);

export interface IntakeDeps {
  temporal: Client;
  pool: pg.Pool;
  taskQueue: string;
}

export interface Submission {
  status: 'accepted' | 'duplicate';
  eventId: string;
  workflowId: string;
  /** The child workflow that will handle the event, when one will. */
  eventWorkflowId: string | null;
}

/**
 * Takes one event: a redelivered id starts nothing (and says so); a new one is signalled to the
 * employee's entity workflow (started if needed) within the same transaction that records it, so
 * a failure to reach Temporal leaves nothing recorded and the sender can retry.
 */
export async function submitHrEvent(deps: IntakeDeps, event: HrEvent, rawBody: string): Promise<Submission> {
  const employeeId = event.employee.id;
  const workflowId = entityWorkflowId(employeeId);
  const eventWorkflowId = expectedEventWorkflowId(event.type, employeeId, event.id);
  const db = await deps.pool.connect();
  try {
    await db.query('BEGIN');
    // A concurrent delivery of the same id waits here on the primary key until this one commits.
    const inserted = await db.query(
      `INSERT INTO hr_events (event_id, employee_id, type, source, workflow_id, payload) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [event.id, employeeId, event.type, event.source, workflowId, rawBody.replace(/\\u0000/g, '\\\\u0000')],
    );
    const audit = (result: string, detail: Record<string, unknown>) =>
      db.query(
        `INSERT INTO audit_log (employee_id, event_id, workflow_id, kind, action, result, detail) VALUES ($1, $2, $3, 'delivery', $4, $5, $6)`,
        [employeeId, event.id, workflowId, event.type, result, JSON.stringify(detail)],
      );
    if (!inserted.rowCount) {
      const seen = await db.query(`UPDATE hr_events SET deliveries = deliveries + 1 WHERE event_id = $1 RETURNING deliveries`, [event.id]);
      await audit('redelivery', { source: event.source, delivery: seen.rows[0]?.deliveries });
      await db.query('COMMIT');
      return { status: 'duplicate', eventId: event.id, workflowId, eventWorkflowId };
    }
    await handOver(deps, () =>
      deps.temporal.workflow.signalWithStart('employeeLifecycle', {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [{ employeeId }],
        signal: hrEventSignal,
        signalArgs: [event],
        typedSearchAttributes: [{ key: EmployeeIdKey, value: employeeId }],
        memo: { summary: `HR lifecycle of employee ${employeeId}` },
      }),
    );
    await db.query(`UPDATE hr_events SET submitted_at = now() WHERE event_id = $1`, [event.id]);
    // The last profile hrsync was told about, whatever the source: what the next change from a
    // source that has not spoken of this person yet is compared with.
    await db.query(
      `INSERT INTO hr_snapshots (source, employee_id, profile) VALUES ($1, $2, $3)
       ON CONFLICT (source, employee_id) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now()`,
      [INTAKE_SOURCE, employeeId, storableJson({ ...event.employee, terminationDate: event.termination?.date ?? null })],
    );
    await audit('accepted', { source: event.source, delivery: 1 });
    await db.query('COMMIT');
    return { status: 'accepted', eventId: event.id, workflowId, eventWorkflowId };
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

/**
 * Takes one completion reported by the LMS (webhook or poller): the same completion again, by
 * either path, starts nothing; a new one starts its `learningRecord` workflow within the
 * transaction that records it, so a failure to reach Temporal leaves nothing recorded.
 */
export async function submitCompletion(deps: IntakeDeps, completion: Completion, source: string): Promise<{ status: 'accepted' | 'duplicate'; completionKey: string; workflowId: string }> {
  const key = completionKey(completion);
  const workflowId = learningRecordWorkflowId(key);
  const db = await deps.pool.connect();
  try {
    await db.query('BEGIN');
    const inserted = await db.query(
      `INSERT INTO completions (completion_key, employee_id, course_id, completed_at, score, source, workflow_id) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (completion_key) DO NOTHING RETURNING completion_key`,
      [key, completion.employeeId, completion.courseId, completion.completedAt, completion.score, source, workflowId],
    );
    if (!inserted.rowCount) {
      await db.query(`UPDATE completions SET deliveries = deliveries + 1 WHERE completion_key = $1`, [key]);
      await db.query('COMMIT');
      return { status: 'duplicate', completionKey: key, workflowId };
    }
    await handOver(deps, () =>
      deps.temporal.workflow.start('learningRecord', {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [{ completion, source }],
        typedSearchAttributes: [{ key: EmployeeIdKey, value: completion.employeeId }],
        memo: { summary: `Completion of ${completion.courseId} by employee ${completion.employeeId}` },
      }),
    );
    await db.query('COMMIT');
    return { status: 'accepted', completionKey: key, workflowId };
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

// PostgreSQL's text and jsonb cannot hold a NUL character. Input that carries one is still kept:
// a raw body as base64 (marked so), JSON with its \u0000 escapes spelled out.
const NUL = /\u0000/;

export function storableText(raw: string): { text: string; encoding: 'utf8' | 'base64' } {
  return NUL.test(raw) ? { text: Buffer.from(raw, 'utf8').toString('base64'), encoding: 'base64' } : { text: raw, encoding: 'utf8' };
}

export function storableJson(value: unknown): string {
  return JSON.stringify(value).replace(/\\u0000/g, '\\\\u0000');
}

export interface DeadLetter {
  source: string;
  endpoint: string;
  status: number;
  reason: string;
  detail?: unknown;
  headers: Record<string, unknown>;
  rawBody: string;
}

const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization', 'x-api-key']);

export function keepableHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, SECRET_HEADERS.has(k.toLowerCase()) ? '[redacted]' : v]));
}

export async function recordDeadLetter(pool: pg.Pool, letter: DeadLetter): Promise<number> {
  const raw = storableText(letter.rawBody);
  const detail = raw.encoding === 'base64' ? { ...(letter.detail as object | undefined), rawEncoding: 'base64' } : letter.detail;
  const res = await pool.query(
    `INSERT INTO dead_letters (source, endpoint, status, reason, detail, headers, raw_body) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [letter.source, letter.endpoint, letter.status, letter.reason.replace(/\u0000/g, '\\0'), detail === undefined ? null : storableJson(detail), storableJson(keepableHeaders(letter.headers)), raw.text],
  );
  return Number(res.rows[0].id);
}

/** Keeps an accepted vendor delivery as it arrived, with the canonical events it produced. */
export async function keepDelivery(pool: pg.Pool, d: { source: string; endpoint: string; headers: Record<string, unknown>; rawBody: string; eventIds: string[]; note?: string }): Promise<number> {
  const raw = storableText(d.rawBody);
  const res = await pool.query(
    `INSERT INTO raw_deliveries (source, endpoint, headers, raw_body, event_ids, note) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [d.source, d.endpoint, storableJson(keepableHeaders(d.headers)), raw.text, d.eventIds, raw.encoding === 'base64' ? `${d.note ?? ''} (raw body base64: it holds NUL characters)`.trim() : (d.note ?? null)],
  );
  return Number(res.rows[0].id);
}

/** The snapshot source of every canonical event taken, whichever surface it came through. */
export const INTAKE_SOURCE = 'intake';

/** The last profile of this employee seen from this source, for turning a change into events. */
export async function readSnapshot(pool: pg.Pool, source: string, employeeId: string): Promise<HrProfile | null> {
  const res = await pool.query(`SELECT profile FROM hr_snapshots WHERE source = $1 AND employee_id = $2`, [source, employeeId]);
  return (res.rows[0]?.profile as HrProfile | undefined) ?? null;
}

/**
 * What a source's change is compared with: its own last snapshot, else the profile of the last
 * event hrsync took for the person from anywhere (so the first BambooHR webhook about someone
 * hired through the API is seen as the change it is, not as a second hire).
 */
export async function previousProfile(pool: pg.Pool, source: string, employeeId: string, own?: HrProfile | null): Promise<HrProfile | null> {
  const mine = own === undefined ? await readSnapshot(pool, source, employeeId) : own;
  return mine ?? (await readSnapshot(pool, INTAKE_SOURCE, employeeId));
}

/**
 * Records `profile` as the latest seen and returns the one it replaces, atomically: two
 * notifications about the same employee arriving together (BambooHR sends "created" and
 * "updated" back to back) see one change, not the same change twice.
 */
export async function swapSnapshot(pool: pg.Pool, source: string, profile: HrProfile): Promise<HrProfile | null> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    // The first writer creates the row; a concurrent one waits here, then sees what the first wrote.
    await db.query(`INSERT INTO hr_snapshots (source, employee_id, profile) VALUES ($1, $2, 'null'::jsonb) ON CONFLICT DO NOTHING`, [source, profile.id]);
    const old = await db.query(`SELECT profile FROM hr_snapshots WHERE source = $1 AND employee_id = $2 FOR UPDATE`, [source, profile.id]);
    await db.query(`UPDATE hr_snapshots SET profile = $3, updated_at = now() WHERE source = $1 AND employee_id = $2`, [source, profile.id, storableJson(profile)]);
    await db.query('COMMIT');
    return (old.rows[0]?.profile as HrProfile | null) ?? null;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

/** Puts back the snapshot a failed hand-over replaced, so the change is seen again on the retry. */
export async function restoreSnapshot(pool: pg.Pool, source: string, employeeId: string, previous: HrProfile | null): Promise<void> {
  if (previous) await writeSnapshot(pool, source, previous);
  else await pool.query(`DELETE FROM hr_snapshots WHERE source = $1 AND employee_id = $2`, [source, employeeId]);
}

export async function writeSnapshot(pool: pg.Pool, source: string, profile: HrProfile): Promise<void> {
  await pool.query(
    `INSERT INTO hr_snapshots (source, employee_id, profile) VALUES ($1, $2, $3)
     ON CONFLICT (source, employee_id) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now()`,
    [source, profile.id, storableJson(profile)],
  );
}
