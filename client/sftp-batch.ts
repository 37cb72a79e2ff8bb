/**
 * The SFTP batch surface (SPEC §4): the fallback for legacy HRIS that can only drop a nightly
 * CSV export on an SFTP server. Each file is diffed against the last snapshot of every worker and
 * the difference becomes the same canonical events a webhook would have sent (`changeEvents`).
 *
 * THE FILE: a Workday-style "Worker" report of all active and terminated workers, one row each.
 *
 *   Employee_ID,Legal_First_Name,Legal_Last_Name,Work_Email,Job_Profile_Code,Job_Profile,Department,Location,Manager_ID,Worker_Type,Hire_Date,Termination_Date,Contract_End_Date,Agency,Covered_Tasks
 *   21001,Ana,Reyes,ana.reyes@example.com,CHM-OP1,Chemical Process Operator I,OPS,BAY,21090,Employee,2024-03-04,,,,
 *   21004,Omar,Diaz,omar.diaz@bayou.example.com,CTR-PIPE,Contract Pipeline Technician,MNT,DAY,21090,Contingent Worker,11/21/2026,,03/21/2027,Bayou Industrial Staffing,OQ 0401 valve maintenance;OQ 0601 cathodic protection
 *
 * - Encoding UTF-8 (a byte-order mark is fine) or UTF-16 with a byte-order mark (Excel's "Unicode
 *   text"); RFC 4180 quoting; CRLF or LF; blank lines are ignored.
 * - A header row is required and must name every column above (any order; names as written,
 *   surrounding spaces ignored). Other columns are ignored, except an optional `Employee_Type`
 *   (Regular | Temporary | Fixed Term | Seasonal): a temporary, fixed-term or seasonal Employee is
 *   hrsync's `temporary` employment type.
 * - Employee_ID, Legal_First_Name, Legal_Last_Name, Work_Email, Job_Profile_Code (the
 *   organisation's job code), Job_Profile (the title), Department (code), Location (site code)
 *   and Hire_Date are required. Manager_ID may be empty.
 * - Worker_Type: `Employee` or `Contingent Worker` (any case). Any other value (an "Intern", a
 *   "Board Member") is a row error that keeps the raw value; the row is not guessed at.
 * - Dates: YYYY-MM-DD or MM/DD/YYYY (M/D/YYYY too); Workday exports both. Termination_Date is
 *   empty for an active worker. A Contingent Worker needs Contract_End_Date (not before the
 *   Hire_Date) and Agency; Covered_Tasks is a `;`-separated list (may be empty). An Employee must
 *   not carry a Contract_End_Date.
 *
 * WHAT A POLL DOES, per matching file, oldest first: downloads it; records it in `batch_files`
 * (name, size, sha256, bytes, status, counts); a content already processed is a `duplicate` and
 * applies nothing. A file that cannot be used as a whole (empty, not UTF-8/UTF-16 text, not CSV,
 * no header, a missing column) is `failed`: dead-lettered with its content, moved to the failed
 * folder, nothing emitted. Otherwise every row is validated; a bad row is reported with its line
 * and field, stored in `batch_row_errors` with the raw line, audited for review, and skipped,
 * while the good rows are applied: each is diffed against its `sftp` snapshot, the events are
 * submitted (ids derived from the file's sha256 and the employee id, so a re-run of the same file
 * starts nothing twice) and the snapshot is updated. People in the previous snapshot who are
 * neither in the file nor already terminated are reported as `missing` and audited for review:
 * never terminated automatically, since a truncated export must not close accounts. The raw file
 * is kept with its event ids (`raw_deliveries`), and the file moves to the processed folder.
 * A file is never half-applied silently: if Temporal or the database fails midway the poll stops
 * with an `SftpBatchError`, the file stays where it is, and the next poll resumes it (the events
 * already taken are recognised by their ids).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { parse } from 'csv-parse/sync';
import SftpClient from 'ssh2-sftp-client';
import { z } from 'zod';
import type pg from 'pg';
import { keepDelivery, previousProfile, recordDeadLetter, submitHrEvent, writeSnapshot, type IntakeDeps } from '../activities/intake';
import { changeEvents } from '../domain/changes';
import { HrEvent, HrProfile, type EmploymentType } from '../domain/hr-event';
import { logger as processLogger, type Logger } from '../stack/logger';
import { expectedEventWorkflowId } from '../workflows/definitions';
import { countTakenEvent } from '../stack/metrics';

/** The snapshot source, and the `source` of the events this surface emits. */
export const SFTP_SOURCE = 'sftp';

export const WORKER_REPORT_COLUMNS = [
  'Employee_ID',
  'Legal_First_Name',
  'Legal_Last_Name',
  'Work_Email',
  'Job_Profile_Code',
  'Job_Profile',
  'Department',
  'Location',
  'Manager_ID',
  'Worker_Type',
  'Hire_Date',
  'Termination_Date',
  'Contract_End_Date',
  'Agency',
  'Covered_Tasks',
] as const;
export type WorkerReportColumn = (typeof WORKER_REPORT_COLUMNS)[number];
/** Read when present; never required. */
export const OPTIONAL_COLUMNS = ['Employee_Type'] as const;

export interface SftpOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  /** An OpenSSH or PEM private key. */
  privateKey?: string | Buffer;
  passphrase?: string;
  /** The server's host key fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`); unset: any key is accepted (logged). */
  hostKeySha256?: string;
  /** Where the HRIS drops its exports (default `/outbound`). */
  directory?: string;
  /** Where processed and duplicate files go (default `<directory>/processed`). */
  processedDirectory?: string;
  /** Where unusable files go (default `<directory>/failed`). */
  failedDirectory?: string;
  /** Which file names are exports (default /\.csv$/i). */
  pattern?: RegExp;
  /** Larger files are failed without being read (default 64 MiB). */
  maxFileBytes?: number;
  readyTimeoutMs?: number;
}

export interface SftpBatchDeps {
  intake: IntakeDeps;
  sftp: SftpOptions;
  logger?: Logger;
  /** The day the changes in the file take effect (YYYY-MM-DD); default: today (UTC). */
  today?: string;
}

export interface RowProblem {
  line: number;
  field: string;
  problem: string;
}

export interface BatchEvent {
  id: string;
  type: HrEvent['type'];
  employeeId: string;
  /** `duplicate` when the event id had been taken before (a resumed file). */
  status: 'accepted' | 'duplicate';
  /** The workflow that handles it: `<workflowType>-<employeeId>-<eventId>`, null for a contract extension. */
  workflowId: string | null;
}

export interface BatchReport {
  file: string;
  sha256: string;
  status: 'processed' | 'duplicate' | 'failed';
  /** Data rows in the file (not the header, not blank lines). */
  rows: number;
  /** Rows whose change was submitted as one or more events. */
  applied: number;
  /** Valid rows that meant no event (the snapshot already said so). */
  unchanged: number;
  /** Rows not applied, one entry each, with the (first) field at fault. */
  skipped: RowProblem[];
  /** Active people of the previous snapshot absent from this file: reported and audited, never terminated. */
  missing: string[];
  events: BatchEvent[];
  /** Why the file failed, or what it duplicates. */
  reason?: string;
  /** Where the file was moved on the server (null if it could not be moved; the next poll retries). */
  movedTo: string | null;
  batchFileId: number;
}

/** The poll stopped midway (Temporal or the database failed): the file stays in place and is resumed next time. */
export class SftpBatchError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly reports: BatchReport[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SftpBatchError';
  }
}

// ---------------------------------------------------------------------------------------------
// Reading a file

type Decoded = { ok: true; text: string; encoding: string } | { ok: false; problem: string };

/** Bytes to text: UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is unreadable. */
export function decodeExport(bytes: Buffer): Decoded {
  if (bytes.length === 0) return { ok: false, problem: 'the file is empty' };
  let encoding = 'utf-8';
  let body = bytes;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) body = bytes.subarray(3);
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) [encoding, body] = ['utf-16le', bytes.subarray(2)];
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) [encoding, body] = ['utf-16be', bytes.subarray(2)];
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true }).decode(body);
  } catch {
    return { ok: false, problem: `the file is not readable as ${encoding.toUpperCase()} text (export it as UTF-8 CSV)` };
  }
  if (text.includes('\u0000')) return { ok: false, problem: 'the file holds NUL characters: not a text export' };
  return { ok: true, text, encoding };
}

function isoDate(value: string): string | null {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  const [y, m, d] = iso ? [iso[1], iso[2], iso[3]] : us ? [us[3], us[1], us[2]] : [];
  if (!y || !m || !d) return null;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(m) - 1 || date.getUTCDate() !== Number(d)) return null;
  return date.toISOString().slice(0, 10);
}

const DATE_FORMS = 'YYYY-MM-DD or MM/DD/YYYY';
const cell = z.string().trim();
const required = cell.min(1, 'is required');
const optional = cell.transform((v) => (v === '' ? null : v));
const date = cell.transform((v, ctx) => {
  if (v === '') {
    ctx.addIssue({ code: 'custom', message: 'is required' });
    return z.NEVER;
  }
  const d = isoDate(v);
  if (!d) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a date (${DATE_FORMS})` });
    return z.NEVER;
  }
  return d;
});
const optionalDate = cell.transform((v, ctx) => {
  if (v === '') return null;
  const d = isoDate(v);
  if (!d) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a date (${DATE_FORMS})` });
    return z.NEVER;
  }
  return d;
});
const normalised = (v: string) => v.trim().toLowerCase().replace(/\s+/g, ' ');
const WORKER_TYPES: Record<string, 'employee' | 'contractor'> = { employee: 'employee', 'contingent worker': 'contractor' };
const EMPLOYEE_TYPES: Record<string, 'employee' | 'temporary'> = { '': 'employee', regular: 'employee', temporary: 'temporary', 'fixed term': 'temporary', seasonal: 'temporary' };

/** One row of the Worker report, validated (cells are trimmed strings; dates become YYYY-MM-DD). */
export const WorkerRow = z
  .object({
    Employee_ID: required,
    Legal_First_Name: required,
    Legal_Last_Name: required,
    Work_Email: cell.pipe(z.email({ message: 'must be an email address' })),
    Job_Profile_Code: required,
    Job_Profile: required,
    Department: required,
    Location: required,
    Manager_ID: optional,
    Worker_Type: cell.transform((v, ctx) => {
      const type = WORKER_TYPES[normalised(v)];
      if (!type) {
        ctx.addIssue({ code: 'custom', message: v ? `unknown worker type "${v}" (expected Employee or Contingent Worker)` : 'is required' });
        return z.NEVER;
      }
      return type;
    }),
    Employee_Type: cell.default('').transform((v, ctx) => {
      const type = EMPLOYEE_TYPES[normalised(v)];
      if (!type) {
        ctx.addIssue({ code: 'custom', message: `unknown employee type "${v}" (expected Regular, Temporary, Fixed Term or Seasonal)` });
        return z.NEVER;
      }
      return type;
    }),
    Hire_Date: date,
    Termination_Date: optionalDate,
    Contract_End_Date: optionalDate,
    Agency: optional,
    Covered_Tasks: cell.transform((v) => v.split(';').map((t) => t.trim()).filter(Boolean)),
  })
  .superRefine((row, ctx) => {
    if (row.Worker_Type === 'contractor') {
      if (!row.Contract_End_Date) ctx.addIssue({ code: 'custom', path: ['Contract_End_Date'], message: 'is required for a Contingent Worker' });
      else if (row.Contract_End_Date < row.Hire_Date) ctx.addIssue({ code: 'custom', path: ['Contract_End_Date'], message: `${row.Contract_End_Date} is before the Hire_Date ${row.Hire_Date}` });
      if (!row.Agency) ctx.addIssue({ code: 'custom', path: ['Agency'], message: 'is required for a Contingent Worker' });
    } else if (row.Contract_End_Date) {
      ctx.addIssue({ code: 'custom', path: ['Contract_End_Date'], message: 'is only for a Contingent Worker (Worker_Type is Employee)' });
    }
  });
export type WorkerRow = z.infer<typeof WorkerRow>;

/** The HR profile a valid row describes. */
export function profileOfRow(row: WorkerRow): HrProfile {
  const employmentType: EmploymentType = row.Worker_Type === 'contractor' ? 'contractor' : row.Employee_Type;
  return {
    id: row.Employee_ID,
    firstName: row.Legal_First_Name,
    lastName: row.Legal_Last_Name,
    email: row.Work_Email,
    jobCode: row.Job_Profile_Code,
    jobTitle: row.Job_Profile,
    department: row.Department,
    site: row.Location,
    managerId: row.Manager_ID,
    employmentType,
    startDate: row.Hire_Date,
    ...(row.Worker_Type === 'contractor' && row.Contract_End_Date
      ? {
          contract: {
            agency: row.Agency!,
            startDate: row.Hire_Date,
            endDate: row.Contract_End_Date,
            coveredTasks: row.Covered_Tasks,
            ...(row.Manager_ID ? { sponsorId: row.Manager_ID } : {}),
          },
        }
      : {}),
    terminationDate: row.Termination_Date,
  };
}

/** Canonical profile fields back to the report's columns, to name the field at fault. */
const COLUMN_OF: Record<string, WorkerReportColumn> = {
  id: 'Employee_ID',
  firstName: 'Legal_First_Name',
  lastName: 'Legal_Last_Name',
  email: 'Work_Email',
  jobCode: 'Job_Profile_Code',
  jobTitle: 'Job_Profile',
  department: 'Department',
  site: 'Location',
  managerId: 'Manager_ID',
  employmentType: 'Worker_Type',
  startDate: 'Hire_Date',
  terminationDate: 'Termination_Date',
  'contract.endDate': 'Contract_End_Date',
  'contract.agency': 'Agency',
  'contract.coveredTasks': 'Covered_Tasks',
  'contract.startDate': 'Hire_Date',
  'contract.sponsorId': 'Manager_ID',
  'termination.date': 'Termination_Date',
};
const columnOfPath = (path: PropertyKey[]) => {
  const p = path.filter((k) => typeof k === 'string').join('.').replace(/^employee\./, '');
  return COLUMN_OF[p] ?? COLUMN_OF[p.split('.')[0]!] ?? (p || '(row)');
};

export interface RowIssue {
  field: string;
  problem: string;
}

export interface ParsedRow {
  line: number;
  raw: string;
  employeeId: string | null;
  profile?: HrProfile;
  /** The first issue names the field reported; all are stored. */
  issues?: RowIssue[];
  value?: string | null;
}

export type ParsedReport = { ok: true; rows: ParsedRow[] } | { ok: false; problem: string; rows: number };

/** Parses and validates a whole Worker report; `ok: false` when the file cannot be used at all. */
export function parseWorkerReport(text: string): ParsedReport {
  let records: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    // One line ending (csv-parse miscounts lines inside quoted fields with CRLF endings).
    records = parse(text.replace(/\r\n?/g, '\n'), { info: true, raw: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as typeof records;
  } catch (err) {
    return { ok: false, problem: `the file is not valid CSV: ${(err as Error).message}`, rows: 0 };
  }
  const [headerRecord, ...data] = records;
  if (!headerRecord) return { ok: false, problem: 'the file has no header row (it holds no lines)', rows: 0 };
  const header = headerRecord.record.map((h) => h.trim());
  const missing = WORKER_REPORT_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length === WORKER_REPORT_COLUMNS.length) {
    return { ok: false, problem: `no header row: line 1 does not name the Worker report columns (${WORKER_REPORT_COLUMNS.join(',')})`, rows: data.length + 1 };
  }
  if (missing.length) return { ok: false, problem: `the header lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, rows: data.length };
  const repeated = [...WORKER_REPORT_COLUMNS, ...OPTIONAL_COLUMNS].filter((c) => header.indexOf(c) !== header.lastIndexOf(c));
  if (repeated.length) return { ok: false, problem: `the header names ${repeated.join(', ')} more than once`, rows: data.length };

  const rows: ParsedRow[] = [];
  for (const { record, info, raw } of data) {
    // csv-parse counts the line a record ends on (a quoted field may span several), and its raw
    // text carries the blank lines skipped before it.
    const rawLine = raw.replace(/^\n+/, '').replace(/\n$/, '');
    const line = info.lines - (rawLine.match(/\n/g)?.length ?? 0);
    if (record.every((v) => v.trim() === '')) continue; // a row of empty cells, as spreadsheets leave
    const idAt = header.indexOf('Employee_ID');
    const employeeId = record[idAt]?.trim() || null;
    if (record.length !== header.length) {
      rows.push({ line, raw: rawLine, employeeId, issues: [{ field: '(row)', problem: `has ${record.length} fields; the header has ${header.length}` }] });
      continue;
    }
    const cells: Record<string, string> = {};
    for (const column of [...WORKER_REPORT_COLUMNS, ...OPTIONAL_COLUMNS]) {
      const at = header.indexOf(column);
      if (at >= 0) cells[column] = record[at] ?? '';
    }
    const parsed = WorkerRow.safeParse(cells);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ field: columnOfPath(i.path), problem: i.message }));
      rows.push({ line, raw: rawLine, employeeId, issues, value: cells[issues[0]!.field] ?? null });
      continue;
    }
    const profile = profileOfRow(parsed.data);
    const checked = HrProfile.safeParse(profile);
    if (!checked.success) {
      const issues = checked.error.issues.map((i) => ({ field: columnOfPath(i.path), problem: i.message }));
      rows.push({ line, raw: rawLine, employeeId, issues, value: cells[issues[0]!.field] ?? null });
      continue;
    }
    rows.push({ line, raw: rawLine, employeeId, profile });
  }
  // One row per worker: when an id appears more than once, which row is right cannot be known.
  const linesOf = new Map<string, number[]>();
  for (const row of rows) if (row.employeeId) linesOf.set(row.employeeId, [...(linesOf.get(row.employeeId) ?? []), row.line]);
  for (const row of rows) {
    const lines = linesOf.get(row.employeeId ?? '') ?? [];
    if (lines.length > 1 && !row.issues) {
      row.issues = [{ field: 'Employee_ID', problem: `${row.employeeId} is on lines ${lines.join(', ')}; none of them is applied` }];
      row.value = row.employeeId;
      delete row.profile;
    }
  }
  for (const row of rows) {
    if (row.issues && row.employeeId && (linesOf.get(row.employeeId)?.length ?? 0) > 1 && row.issues[0]!.field !== 'Employee_ID') {
      row.issues.unshift({ field: 'Employee_ID', problem: `${row.employeeId} is on lines ${linesOf.get(row.employeeId)!.join(', ')}; none of them is applied` });
      row.value = row.employeeId;
    }
  }
  return { ok: true, rows };
}

// ---------------------------------------------------------------------------------------------
// Polling

const DEFAULT_DIRECTORY = '/outbound';
const DEFAULT_PATTERN = /\.csv$/i;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const LEASE_MS = 5 * 60_000;
const ROW_CONCURRENCY = 4;

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const fingerprintOf = (key: Buffer) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
const normaliseFingerprint = (f: string) => f.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');

function folders(sftp: SftpOptions) {
  const directory = posix.normalize(sftp.directory ?? DEFAULT_DIRECTORY);
  return {
    directory,
    processed: posix.normalize(sftp.processedDirectory ?? posix.join(directory, 'processed')),
    failed: posix.normalize(sftp.failedDirectory ?? posix.join(directory, 'failed')),
  };
}

async function connect(sftp: SftpOptions, logger: Logger): Promise<SftpClient> {
  const client = new SftpClient('hrsync-sftp-batch');
  const pinned = sftp.hostKeySha256 ? normaliseFingerprint(sftp.hostKeySha256) : null;
  if (!pinned) logger.warn({ host: sftp.host }, 'SFTP host key not pinned (set the host key fingerprint); accepting the key the server presents');
  const connecting = client.connect({
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    password: sftp.password,
    privateKey: sftp.privateKey,
    passphrase: sftp.passphrase,
    readyTimeout: sftp.readyTimeoutMs ?? 20_000,
    ...(pinned ? { hostVerifier: (key: Buffer) => fingerprintOf(key) === pinned } : {}),
  });
  try {
    await connecting;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** One poller per drop folder at a time, across processes; the lease expires if its holder dies. */
async function takeLease(pool: pg.Pool, name: string, holder: string): Promise<boolean> {
  const res = await pool.query(
    `INSERT INTO batch_poll_leases (name, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE batch_poll_leases.expires_at < now() OR batch_poll_leases.holder = EXCLUDED.holder
     RETURNING holder`,
    [name, holder, LEASE_MS],
  );
  return res.rowCount === 1;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const at = next++;
      try {
        results[at] = await fn(items[at]!);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw failure;
  return results;
}

const terminated = (p: HrProfile) => !!p.terminationDate && p.terminationDate.slice(0, 10) >= p.startDate;

interface FileContext {
  deps: SftpBatchDeps;
  client: SftpClient;
  logger: Logger;
  today: string;
  dirs: ReturnType<typeof folders>;
  ensured: Set<string>;
}

async function moveAside(ctx: FileContext, from: string, toDir: string, name: string, batchFileId: number): Promise<string | null> {
  try {
    if (!ctx.ensured.has(toDir)) {
      if (!(await ctx.client.exists(toDir))) await ctx.client.mkdir(toDir, true);
      ctx.ensured.add(toDir);
    }
    let target = posix.join(toDir, name);
    if (await ctx.client.exists(target)) {
      const ext = posix.extname(name);
      target = posix.join(toDir, `${name.slice(0, name.length - ext.length)}.${batchFileId}${ext}`);
    }
    await ctx.client.rename(from, target);
    return target;
  } catch (err) {
    ctx.logger.error({ file: from, to: toDir, err: (err as Error).message }, 'could not move the batch file aside; the next poll retries');
    return null;
  }
}

async function audit(pool: pg.Pool, row: { employeeId: string; action: string; detail: Record<string, unknown>; key: string }) {
  await pool.query(
    `INSERT INTO audit_log (employee_id, kind, action, result, detail, idempotency_key) VALUES ($1, 'review', $2, 'needs-review', $3, $4)
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [row.employeeId, row.action, JSON.stringify(row.detail), row.key],
  );
}

async function processFile(ctx: FileContext, entry: SftpClient.FileInfo): Promise<BatchReport> {
  const { pool } = ctx.deps.intake;
  const { sftp } = ctx.deps;
  const remotePath = posix.join(ctx.dirs.directory, entry.name);
  const endpoint = `sftp://${sftp.host}:${sftp.port}${remotePath}`;
  const modifiedAt = new Date(entry.modifyTime || Date.now()).toISOString();
  const maxBytes = sftp.maxFileBytes ?? DEFAULT_MAX_BYTES;
  const tooLarge = entry.size > maxBytes;
  const content = tooLarge ? Buffer.alloc(0) : ((await ctx.client.get(remotePath)) as Buffer);
  const sha256 = tooLarge ? `unread-${entry.size}-bytes` : sha256Of(content);
  const base = { file: entry.name, sha256, rows: 0, applied: 0, unchanged: 0, skipped: [] as RowProblem[], missing: [] as string[], events: [] as BatchEvent[] };

  const earlier = await pool.query(`SELECT id, file_name FROM batch_files WHERE source = $1 AND sha256 = $2 AND status = 'processed' ORDER BY id LIMIT 1`, [SFTP_SOURCE, sha256]);
  if (earlier.rowCount && !tooLarge) {
    const original = earlier.rows[0] as { id: string; file_name: string };
    const reason = `same content as ${original.file_name} (batch file ${original.id}), already processed`;
    const inserted = await pool.query(
      `INSERT INTO batch_files (source, file_name, remote_path, size_bytes, sha256, modified_at, status, reason, duplicate_of, content, finished_at,
                                rows_total, rows_applied, rows_unchanged, rows_skipped, missing_count, event_count)
       VALUES ($1, $2, $3, $4, $5, $6, 'duplicate', $7, $8, $9, now(), 0, 0, 0, 0, 0, 0) RETURNING id`,
      [SFTP_SOURCE, entry.name, remotePath, content.length, sha256, modifiedAt, reason, original.id, content],
    );
    const batchFileId = Number(inserted.rows[0].id);
    const movedTo = await moveAside(ctx, remotePath, ctx.dirs.processed, entry.name, batchFileId);
    const report: BatchReport = { ...base, status: 'duplicate', reason, movedTo, batchFileId };
    await pool.query(`UPDATE batch_files SET moved_to = $2, report = $3 WHERE id = $1`, [batchFileId, movedTo, JSON.stringify(report)]);
    return report;
  }

  // A file interrupted earlier (same content, still `processing`) is resumed under its record.
  const resumed = await pool.query(`SELECT id FROM batch_files WHERE source = $1 AND sha256 = $2 AND status = 'processing' ORDER BY id LIMIT 1`, [SFTP_SOURCE, sha256]);
  let batchFileId: number;
  if (resumed.rowCount && !tooLarge) {
    batchFileId = Number(resumed.rows[0].id);
    await pool.query(`DELETE FROM batch_row_errors WHERE batch_file_id = $1`, [batchFileId]);
    await pool.query(`UPDATE batch_files SET file_name = $2, remote_path = $3, reason = NULL WHERE id = $1`, [batchFileId, entry.name, remotePath]);
  } else {
    const inserted = await pool.query(
      `INSERT INTO batch_files (source, file_name, remote_path, size_bytes, sha256, modified_at, status, content) VALUES ($1, $2, $3, $4, $5, $6, 'processing', $7) RETURNING id`,
      [SFTP_SOURCE, entry.name, remotePath, entry.size, sha256, modifiedAt, content],
    );
    batchFileId = Number(inserted.rows[0].id);
  }

  const decoded = tooLarge ? ({ ok: false, problem: `the file has ${entry.size} bytes, more than the ${maxBytes} allowed` } as const) : decodeExport(content);
  const parsed: ParsedReport = decoded.ok ? parseWorkerReport(decoded.text) : { ok: false, problem: decoded.problem, rows: 0 };

  if (!parsed.ok) {
    const reason = parsed.problem;
    const deadLetterId = await recordDeadLetter(pool, {
      source: SFTP_SOURCE,
      endpoint,
      status: 422,
      reason,
      detail: { file: entry.name, sha256, batchFileId, size: entry.size, ...(decoded.ok ? {} : { rawBody: 'base64' }) },
      headers: { file: entry.name, size: entry.size, sha256, modifiedAt },
      // Undecodable bytes are kept exactly, base64-encoded (also in batch_files.content).
      rawBody: decoded.ok ? decoded.text : content.toString('base64'),
    });
    await pool.query(
      `UPDATE batch_files SET status = 'failed', reason = $2, dead_letter_id = $3, finished_at = now(),
              rows_total = $4, rows_applied = 0, rows_unchanged = 0, rows_skipped = 0, missing_count = 0, event_count = 0 WHERE id = $1`,
      [batchFileId, reason, deadLetterId, parsed.rows],
    );
    const movedTo = await moveAside(ctx, remotePath, ctx.dirs.failed, entry.name, batchFileId);
    const report: BatchReport = { ...base, rows: parsed.rows, status: 'failed', reason, movedTo, batchFileId };
    await pool.query(`UPDATE batch_files SET moved_to = $2, report = $3 WHERE id = $1`, [batchFileId, movedTo, JSON.stringify(report)]);
    return report;
  }

  // Bad rows: recorded with the raw line, audited for the person when the id is known.
  const rejectRow = async (row: ParsedRow, issues: RowIssue[]) => {
    const first = issues[0]!;
    await pool.query(
      `INSERT INTO batch_row_errors (batch_file_id, line, employee_id, field, problem, value, issues, raw_line) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [batchFileId, row.line, row.employeeId, first.field, first.problem, row.value ?? null, JSON.stringify(issues), row.raw],
    );
    if (row.employeeId) {
      await audit(pool, {
        employeeId: row.employeeId,
        action: 'batch-row-rejected',
        detail: { source: SFTP_SOURCE, file: entry.name, batchFileId, line: row.line, field: first.field, problem: first.problem, issues },
        key: `${SFTP_SOURCE}:${sha256}:line:${row.line}`,
      });
    }
  };
  const bad = parsed.rows.filter((r) => r.issues);
  for (const row of bad) await rejectRow(row, row.issues!);

  // Good rows: diff against the snapshot, submit the events, then move the snapshot on.
  const good = parsed.rows.filter((r) => r.profile);
  type Outcome = { row: ParsedRow; events: BatchEvent[]; rejected: RowIssue | null };
  const outcomes = await mapLimit(good, ROW_CONCURRENCY, async (row): Promise<Outcome> => {
    const profile = row.profile!;
    const previous = await previousProfile(pool, SFTP_SOURCE, profile.id);
    const events = changeEvents(previous, profile, {
      source: SFTP_SOURCE,
      occurredAt: modifiedAt,
      effectiveDate: ctx.today,
      idPrefix: `${SFTP_SOURCE}-${sha256.slice(0, 16)}-${profile.id}`,
    });
    // The events must be valid canonical events before any is sent.
    for (const event of events) {
      const valid = HrEvent.safeParse(event);
      if (!valid.success) {
        const issue = valid.error.issues[0]!;
        return { row, events: [], rejected: { field: columnOfPath(issue.path), problem: `${issue.message} (in the ${event.type} this row means)` } };
      }
    }
    const taken: BatchEvent[] = [];
    for (const event of events) {
      const submitted = await submitHrEvent(ctx.deps.intake, event, JSON.stringify(event));
      countTakenEvent(event.source, submitted.status);
      taken.push({ id: event.id, type: event.type, employeeId: profile.id, status: submitted.status, workflowId: submitted.eventWorkflowId ?? expectedEventWorkflowId(event.type, profile.id, event.id) });
    }
    await writeSnapshot(pool, SFTP_SOURCE, profile);
    return { row, events: taken, rejected: null };
  });

  const skipped: RowProblem[] = bad.map((r) => ({ line: r.line, field: r.issues![0]!.field, problem: r.issues![0]!.problem }));
  for (const { row, rejected } of outcomes) {
    if (!rejected) continue;
    skipped.push({ line: row.line, ...rejected });
    await rejectRow(row, [rejected]);
  }
  skipped.sort((a, b) => a.line - b.line);
  // Events this file's rows had submitted in an interrupted earlier attempt belong to its report
  // too (their rows now read as unchanged against the snapshot they moved on).
  const idPrefix = `${SFTP_SOURCE}-${sha256.slice(0, 16)}-`;
  const earlierEvents = await pool.query(
    `SELECT event_id, type, employee_id FROM hr_events WHERE source = $1 AND left(event_id, length($2)) = $2 ORDER BY received_at, event_id`,
    [SFTP_SOURCE, idPrefix],
  );
  for (const e of earlierEvents.rows as { event_id: string; type: HrEvent['type']; employee_id: string }[]) {
    const outcome = outcomes.find((o) => !o.rejected && o.row.employeeId === e.employee_id);
    if (!outcome || outcome.events.some((t) => t.id === e.event_id)) continue;
    outcome.events.push({ id: e.event_id, type: e.type, employeeId: e.employee_id, status: 'accepted', workflowId: expectedEventWorkflowId(e.type, e.employee_id, e.event_id) });
  }
  const applied = outcomes.filter((o) => !o.rejected && o.events.length > 0);
  const unchanged = outcomes.filter((o) => !o.rejected && o.events.length === 0);
  const events = applied.sort((a, b) => a.row.line - b.row.line).flatMap((o) => o.events);

  // Who was there last time and is not now: reported for review, never terminated from here.
  const present = new Set(parsed.rows.map((r) => r.employeeId).filter((id): id is string => !!id));
  const known = await pool.query(`SELECT employee_id, profile FROM hr_snapshots WHERE source = $1 ORDER BY employee_id`, [SFTP_SOURCE]);
  const missing = (known.rows as { employee_id: string; profile: HrProfile }[])
    .filter((s) => !present.has(s.employee_id) && !terminated(s.profile))
    .map((s) => s.employee_id);
  for (const employeeId of missing) {
    await audit(pool, {
      employeeId,
      action: 'missing-from-batch',
      detail: {
        source: SFTP_SOURCE,
        file: entry.name,
        batchFileId,
        sha256,
        problem: 'in the previous snapshot but not in this all-workers file; not terminated automatically (a truncated export must not close accounts): confirm with HR',
      },
      key: `${SFTP_SOURCE}:${sha256}:missing:${employeeId}`,
    });
  }

  const eventIds = events.map((e) => e.id);
  const summary = `${parsed.rows.length} rows: ${applied.length} applied, ${unchanged.length} unchanged, ${skipped.length} skipped, ${missing.length} missing; ${events.length} events`;
  const kept = await pool.query(`SELECT raw_delivery_id FROM batch_files WHERE id = $1`, [batchFileId]);
  const rawDeliveryId =
    kept.rows[0]?.raw_delivery_id ??
    (await keepDelivery(pool, { source: SFTP_SOURCE, endpoint, headers: { file: entry.name, size: entry.size, sha256, modifiedAt, batchFileId }, rawBody: decoded.ok ? decoded.text : '', eventIds, note: `batch file ${entry.name}: ${summary}` }));
  await pool.query(`UPDATE batch_files SET raw_delivery_id = $2 WHERE id = $1`, [batchFileId, rawDeliveryId]);

  // Recorded as processed before the file moves: if the move does not happen, the next poll sees
  // a duplicate and moves it then.
  const counts = { rows: parsed.rows.length, applied: applied.length, unchanged: unchanged.length, skipped, missing, events };
  await pool.query(
    `UPDATE batch_files SET status = 'processed', finished_at = now(), report = $2, rows_total = $3, rows_applied = $4, rows_unchanged = $5,
            rows_skipped = $6, missing_count = $7, event_count = $8 WHERE id = $1`,
    [batchFileId, JSON.stringify({ ...base, ...counts, status: 'processed', movedTo: null, batchFileId }), counts.rows, counts.applied, counts.unchanged, skipped.length, missing.length, events.length],
  );
  const movedTo = await moveAside(ctx, remotePath, ctx.dirs.processed, entry.name, batchFileId);
  const report: BatchReport = { ...base, ...counts, status: 'processed', movedTo, batchFileId };
  await pool.query(`UPDATE batch_files SET moved_to = $2, report = $3 WHERE id = $1`, [batchFileId, movedTo, JSON.stringify(report)]);
  return report;
}

/**
 * One poll: connects, takes every matching file in the drop folder (oldest first), applies it
 * and moves it aside. Returns one report per file; [] when another poller holds the folder.
 */
export async function pollSftpOnce(deps: SftpBatchDeps): Promise<BatchReport[]> {
  const logger = deps.logger ?? processLogger;
  const { pool } = deps.intake;
  const dirs = folders(deps.sftp);
  const pattern = deps.sftp.pattern ?? DEFAULT_PATTERN;
  const leaseName = `${SFTP_SOURCE}:${deps.sftp.host}:${deps.sftp.port}:${dirs.directory}`;
  const holder = randomUUID();
  if (!(await takeLease(pool, leaseName, holder))) {
    logger.info({ folder: dirs.directory }, 'another poller is working on this SFTP folder');
    return [];
  }
  const renew = setInterval(() => void takeLease(pool, leaseName, holder).catch(() => undefined), LEASE_MS / 3);
  renew.unref();
  const reports: BatchReport[] = [];
  let client: SftpClient | undefined;
  try {
    client = await connect(deps.sftp, logger);
    const listing = await client.list(dirs.directory);
    const files = listing
      .filter((f) => f.type === '-' && f.name.search(pattern) >= 0)
      .sort((a, b) => a.modifyTime - b.modifyTime || a.name.localeCompare(b.name));
    const ctx: FileContext = { deps, client, logger, today: deps.today ?? new Date().toISOString().slice(0, 10), dirs, ensured: new Set() };
    for (const file of files) {
      try {
        reports.push(await processFile(ctx, file));
      } catch (err) {
        await pool
          .query(`UPDATE batch_files SET reason = $3 WHERE source = $1 AND file_name = $2 AND status = 'processing'`, [SFTP_SOURCE, file.name, `interrupted: ${(err as Error).message}`])
          .catch(() => undefined);
        throw new SftpBatchError(`batch file ${file.name} was interrupted and stays in ${dirs.directory} for the next poll: ${(err as Error).message}`, file.name, reports, { cause: err });
      }
    }
    return reports;
  } finally {
    clearInterval(renew);
    await client?.end().catch(() => undefined);
    await pool.query(`DELETE FROM batch_poll_leases WHERE name = $1 AND holder = $2`, [leaseName, holder]).catch(() => undefined);
  }
}

/** Logs a report: ids and counts only, never names or row contents. */
export function logBatchReport(logger: Logger, report: BatchReport): void {
  const { file, sha256, status, rows, applied, unchanged, skipped, missing, events, reason, movedTo, batchFileId } = report;
  const fields = { file, sha256, batchFileId, status, rows, applied, unchanged, skipped: skipped.length, missing, events: events.length, reason, movedTo };
  if (status === 'failed') logger.error(fields, 'SFTP batch file failed');
  else if (skipped.length || missing.length) logger.warn({ ...fields, skippedRows: skipped }, 'SFTP batch file processed with rows to review');
  else logger.info(fields, `SFTP batch file ${status}`);
}

/** Polls every `intervalMs` (the next poll is scheduled when one ends: runs never overlap). */
export function startSftpPoller(deps: SftpBatchDeps & { intervalMs: number }): { stop(): Promise<void> } {
  const logger = deps.logger ?? processLogger;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  const tick = async () => {
    try {
      for (const report of await pollSftpOnce(deps)) logBatchReport(logger, report);
    } catch (err) {
      if (err instanceof SftpBatchError) err.reports.forEach((r) => logBatchReport(logger, r));
      logger.error({ err: (err as Error).message }, 'SFTP poll failed; retrying at the next interval');
    }
  };
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = null;
        schedule(deps.intervalMs);
      });
    }, delay);
    timer.unref();
  };
  schedule(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * The SFTP surface's settings from the environment; null when `SFTP_HOST` is unset (no poller).
 * SFTP_HOST, SFTP_PORT (22), SFTP_USERNAME, SFTP_PASSWORD or SFTP_PRIVATE_KEY_FILE
 * (+ SFTP_PRIVATE_KEY_PASSPHRASE), SFTP_HOST_KEY_SHA256, SFTP_DIRECTORY (/outbound),
 * SFTP_PROCESSED_DIRECTORY, SFTP_FAILED_DIRECTORY, SFTP_POLL_INTERVAL_MS (300000).
 */
export function sftpSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): { sftp: SftpOptions; intervalMs: number } | null {
  if (!env.SFTP_HOST) return null;
  const number = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  };
  if (!env.SFTP_USERNAME) throw new Error('SFTP_USERNAME must be set with SFTP_HOST');
  if (!env.SFTP_PASSWORD && !env.SFTP_PRIVATE_KEY_FILE) throw new Error('SFTP_PASSWORD or SFTP_PRIVATE_KEY_FILE must be set with SFTP_HOST');
  return {
    sftp: {
      host: env.SFTP_HOST,
      port: number('SFTP_PORT', 22, 1, 65535),
      username: env.SFTP_USERNAME,
      password: env.SFTP_PASSWORD || undefined,
      privateKey: env.SFTP_PRIVATE_KEY_FILE ? readFileSync(env.SFTP_PRIVATE_KEY_FILE) : undefined,
      passphrase: env.SFTP_PRIVATE_KEY_PASSPHRASE || undefined,
      hostKeySha256: env.SFTP_HOST_KEY_SHA256 || undefined,
      directory: env.SFTP_DIRECTORY || undefined,
      processedDirectory: env.SFTP_PROCESSED_DIRECTORY || undefined,
      failedDirectory: env.SFTP_FAILED_DIRECTORY || undefined,
    },
    intervalMs: number('SFTP_POLL_INTERVAL_MS', 300_000, 1_000, 86_400_000),
  };
}
