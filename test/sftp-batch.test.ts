import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Client } from '@temporalio/client';
import {
  pollSftpOnce,
  SftpBatchError,
  sftpSettingsFromEnvironment,
  startSftpPoller,
  WORKER_REPORT_COLUMNS,
  type BatchReport,
  type SftpBatchDeps,
  type WorkerReportColumn,
} from '../client/sftp-batch';
import { addDays, isoDateOf } from '../domain/dates';
import { bridgeMetrics } from '../stack/metrics';
import { eventually, startTestStack, type TestStack } from './support/stack';
import { startSftpServer, type TestSftpServer } from './support/sftp-server';

// The SFTP batch surface against a real SFTP server (ssh2, serving a temp folder), the run's
// Temporal dev server and PostgreSQL, and the LMS simulator: a legacy HRIS drops a nightly
// Workday-style worker report; each day's file is diffed against the last and the difference
// reaches the LMS. The tests run in order: each day builds on the snapshot the one before left.

let stack: TestStack;
let sftp: TestSftpServer;
beforeAll(async () => {
  [stack, sftp] = await Promise.all([startTestStack(), startSftpServer()]);
});
afterAll(async () => {
  await sftp?.close();
  await stack?.stop();
});

const silent = pino({ level: 'silent' });
const day2 = isoDateOf(new Date());
const day1 = addDays(day2, -1);
/** Workday exports MM/DD/YYYY as often as ISO dates. */
const us = (iso: string) => `${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(0, 4)}`;

function deps(today: string, auth: 'password' | 'key' = 'password'): SftpBatchDeps {
  return {
    intake: { temporal: stack.client, pool: stack.pool, taskQueue: stack.taskQueue },
    sftp: {
      host: sftp.host,
      port: sftp.port,
      username: sftp.username,
      ...(auth === 'password' ? { password: sftp.password } : { privateKey: sftp.privateKey }),
      hostKeySha256: sftp.hostKeySha256,
    },
    logger: silent,
    today,
  };
}

type Worker = Partial<Record<WorkerReportColumn | 'Cost_Center', string>>;
const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
function report(rows: Worker[], columns: readonly string[] = WORKER_REPORT_COLUMNS, eol = '\r\n'): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => quote(r[c as keyof Worker] ?? '')).join(','))].join(eol) + eol;
}

// Six workers of the sample organisation's sites and job codes.
const ana: Worker = { Employee_ID: '21001', Legal_First_Name: 'Ana', Legal_Last_Name: 'Reyes', Work_Email: 'ana.reyes.21001@example.com', Job_Profile_Code: 'CHM-OP1', Job_Profile: 'Chemical Process Operator I', Department: 'OPS', Location: 'BAY', Manager_ID: '21090', Worker_Type: 'Employee', Hire_Date: '2024-03-04' };
const chen: Worker = { Employee_ID: '21002', Legal_First_Name: 'Chen', Legal_Last_Name: 'Liu', Work_Email: 'chen.liu.21002@example.com', Job_Profile_Code: 'MNT-TEC', Job_Profile: 'Maintenance Technician', Department: 'MNT', Location: 'BAY', Manager_ID: '21090', Worker_Type: 'Employee', Hire_Date: '06/17/2019' };
const kofi: Worker = { Employee_ID: '21003', Legal_First_Name: 'Kofi', Legal_Last_Name: 'Mensah', Work_Email: 'kofi.mensah.21003@example.com', Job_Profile_Code: 'FIN-ANL', Job_Profile: 'Financial Analyst, Plant Accounting', Department: 'FIN', Location: 'HQ', Manager_ID: '', Worker_Type: 'Employee', Hire_Date: '2021-09-01' };
const contractEnd = addDays(day1, 120);
const omar: Worker = {
  Employee_ID: '21004', Legal_First_Name: 'Omar', Legal_Last_Name: 'Diaz', Work_Email: 'omar.diaz.21004@contractor.example.com', Job_Profile_Code: 'CTR-PIPE', Job_Profile: 'Contract Pipeline Technician',
  Department: 'MNT', Location: 'DAY', Manager_ID: '21090', Worker_Type: 'Contingent Worker', Hire_Date: us(day1), Contract_End_Date: us(contractEnd), Agency: 'Bayou Industrial Staffing', Covered_Tasks: 'OQ 0401 valve maintenance',
};
const hana: Worker = { Employee_ID: '21005', Legal_First_Name: 'Hana', Legal_Last_Name: 'Sato', Work_Email: 'hana.sato.21005@example.com', Job_Profile_Code: 'RN', Job_Profile: 'Registered Nurse', Department: 'CLS', Location: 'CLN', Manager_ID: '', Worker_Type: 'Employee', Hire_Date: '02/30/2026' };
const ivan: Worker = { Employee_ID: '21006', Legal_First_Name: 'Ivan', Legal_Last_Name: 'Petrov', Work_Email: 'ivan.petrov.21006@example.com', Job_Profile_Code: 'MED-AST', Job_Profile: 'Medical Assistant', Department: 'CLS', Location: 'CLN', Manager_ID: '', Worker_Type: 'Board Member', Hire_Date: '2025-01-06' };

// The second night: Ana's job profile changes, Chen moves to Dayton, Kofi leaves today, Hana's
// hire date is corrected, Ivan's worker type is still unknown, and Omar is not in the file.
const anaPromoted: Worker = { ...ana, Job_Profile_Code: 'PRC-TEC', Job_Profile: 'Process Technician' };
const chenMoved: Worker = { ...chen, Location: 'DAY' };
const kofiLeaves: Worker = { ...kofi, Termination_Date: day2 };
const hanaFixed: Worker = { ...hana, Hire_Date: '03/02/2026' };
const secondNight = report([anaPromoted, chenMoved, kofiLeaves, hanaFixed, ivan]);

const learner = (employeeId: string) => stack.learnersFor(employeeId)[0];
const courses = (employeeId: string) => learner(employeeId)!.enrollments.map((e) => e.course_code).sort();
const sftpEventCount = async () => Number((await stack.pool.query(`SELECT count(*) FROM hr_events WHERE source = 'sftp'`)).rows[0].count);
async function reviewRows(employeeId: string, action: string) {
  return (await stack.auditRows(employeeId)).filter((r) => r.kind === 'review' && r.action === action);
}
async function settled(batch: BatchReport) {
  for (const event of batch.events) await stack.resultOf(event.workflowId!);
}

const sftpEventsTaken = async () => (await bridgeMetrics.eventsReceived.get()).values.find((v) => v.labels.source === 'sftp')?.value ?? 0;

describe('SFTP batch: a nightly worker report', () => {
  it('night 1: hires and a contractor start reach the LMS; a bad date and an unknown worker type are reported by line and field, stored, and skipped', async () => {
    await sftp.drop(`/outbound/workers_${day1}.csv`, report([ana, chen, kofi, omar, hana, ivan]));
    const takenBefore = await sftpEventsTaken();
    const [batch, ...more] = await pollSftpOnce(deps(day1));
    expect(more).toEqual([]);
    // The bridge's hrsync_events_received_total counts the file's events under source "sftp".
    expect((await sftpEventsTaken()) - takenBefore).toBe(4);
    expect(batch).toMatchObject({ file: `workers_${day1}.csv`, status: 'processed', rows: 6, applied: 4, unchanged: 0, missing: [], movedTo: `/outbound/processed/workers_${day1}.csv` });
    expect(batch!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(batch!.skipped).toEqual([
      { line: 6, field: 'Hire_Date', problem: '"02/30/2026" is not a date (YYYY-MM-DD or MM/DD/YYYY)' },
      { line: 7, field: 'Worker_Type', problem: expect.stringContaining('"Board Member"') },
    ]);
    expect(batch!.events.map((e) => [e.employeeId, e.type, e.status])).toEqual([
      ['21001', 'hire', 'accepted'],
      ['21002', 'hire', 'accepted'],
      ['21003', 'hire', 'accepted'],
      ['21004', 'contractor_start', 'accepted'],
    ]);
    expect(batch!.events[0]!.workflowId).toBe(`onboarding-21001-${batch!.events[0]!.id}`);
    await settled(batch!);

    expect(learner('21001')).toMatchObject({ status: '1', role: 'operator', branches: ['BR-BAY'] });
    expect(learner('21001')!.groups).toContain('psm-covered-staff');
    expect(learner('21002')).toMatchObject({ status: '1', branches: ['BR-BAY'] });
    expect(learner('21002')!.groups).toContain('loto-authorized');
    expect(learner('21003')).toMatchObject({ status: '1', branches: ['BR-HQ'] });
    expect(learner('21004')).toMatchObject({ status: '1', role: 'contractor', branches: ['BR-DAY'] });
    expect(learner('21004')!.groups).toContain('contractors');
    expect(courses('21004')).toEqual(expect.arrayContaining(['CON-100', 'IND-DAY', 'HAZ-DAY', 'OQ-192', 'OQ-0401']));
    // The contract end from the file (an MM/DD/YYYY date) holds the contract timer.
    const contract = await eventually(async () => (await stack.lifecycle('21004')).contract, 'the contract timers');
    expect(contract).toMatchObject({ endsAt: contractEnd, sponsorId: '21090' });
    expect(stack.learnersFor('21005')).toEqual([]);
    expect(stack.learnersFor('21006')).toEqual([]);

    const errors = await stack.pool.query(
      `SELECT e.line, e.employee_id, e.field, e.value, e.raw_line, f.file_name FROM batch_row_errors e JOIN batch_files f ON f.id = e.batch_file_id WHERE f.id = $1 ORDER BY e.line`,
      [batch!.batchFileId],
    );
    expect(errors.rows).toEqual([
      expect.objectContaining({ line: 6, employee_id: '21005', field: 'Hire_Date', value: '02/30/2026', raw_line: expect.stringMatching(/^21005,Hana,Sato,.*,02\/30\/2026,/) }),
      expect.objectContaining({ line: 7, employee_id: '21006', field: 'Worker_Type', value: 'Board Member', raw_line: expect.stringContaining(',Board Member,') }),
    ]);
    expect(await reviewRows('21005', 'batch-row-rejected')).toHaveLength(1);
    const file = (await stack.pool.query(`SELECT * FROM batch_files WHERE id = $1`, [batch!.batchFileId])).rows[0];
    expect(file).toMatchObject({ status: 'processed', sha256: batch!.sha256, rows_total: 6, rows_applied: 4, rows_skipped: 2, event_count: 4 });
    expect(Number(file.size_bytes)).toBe(file.content.length);
    const kept = (await stack.pool.query(`SELECT * FROM raw_deliveries WHERE id = $1`, [file.raw_delivery_id])).rows[0];
    expect(kept).toMatchObject({ source: 'sftp', event_ids: batch!.events.map((e) => e.id) });
    expect(kept.raw_body).toContain('21006,Ivan,Petrov');

    expect(await sftp.files('/outbound')).toEqual([]);
    expect(await sftp.files('/outbound/processed')).toEqual([`workers_${day1}.csv`]);
    // Nothing left to do: the next poll finds no file.
    expect(await pollSftpOnce(deps(day1))).toEqual([]);
  });

  it('night 2: a location change is a transfer, a termination date closes the account, a new job code is a role change; a worker missing from the file is reported, not terminated', async () => {
    const before = await sftpEventCount();
    await sftp.drop(`/outbound/workers_${day2}.csv`, secondNight);
    const [batch] = await pollSftpOnce(deps(day2, 'key'));
    expect(batch).toMatchObject({ status: 'processed', rows: 5, applied: 4, unchanged: 0, missing: ['21004'] });
    expect(batch!.skipped).toEqual([{ line: 6, field: 'Worker_Type', problem: expect.stringContaining('"Board Member"') }]);
    expect(batch!.events.map((e) => [e.employeeId, e.type])).toEqual([
      ['21001', 'role_change'],
      ['21002', 'transfer'],
      ['21003', 'termination'],
      ['21005', 'hire'],
    ]);
    expect(await sftpEventCount()).toBe(before + 4);
    await settled(batch!);

    expect(learner('21001')).toMatchObject({ status: '1', role: 'technician', branches: ['BR-BAY'] });
    expect(learner('21002')).toMatchObject({ status: '1', branches: ['BR-DAY'] });
    expect(learner('21002')!.groups).toContain('site-dayton');
    expect(learner('21002')!.groups).not.toContain('site-baytown');
    expect(courses('21002')).toEqual(expect.arrayContaining(['IND-DAY', 'HAZ-DAY']));
    expect(stack.learnersFor('21003')).toEqual([expect.objectContaining({ status: '0' })]);
    expect(learner('21005')).toMatchObject({ status: '1', branches: ['BR-CLN'] });

    // Omar is absent from an "all workers" file: a person is asked, his account stays open.
    expect(learner('21004')!.status).toBe('1');
    const [missing, ...again] = await reviewRows('21004', 'missing-from-batch');
    expect(again).toEqual([]);
    expect(missing).toMatchObject({ result: 'needs-review', detail: expect.objectContaining({ file: `workers_${day2}.csv`, sha256: batch!.sha256 }) });
    const omarEvents = await stack.pool.query(`SELECT type FROM hr_events WHERE employee_id = '21004'`);
    expect(omarEvents.rows).toEqual([{ type: 'contractor_start' }]);
    expect((await stack.lifecycle('21004')).contract).toMatchObject({ endsAt: contractEnd });
    expect(await sftp.files('/outbound/processed')).toEqual([`workers_${day1}.csv`, `workers_${day2}.csv`]);
  });

  it('the same file uploaded again under another name is a duplicate: recorded, moved aside, nothing new (picked up by the poller)', async () => {
    const before = await sftpEventCount();
    const poller = startSftpPoller({ ...deps(day2), intervalMs: 200 });
    try {
      await sftp.drop(`/outbound/workers_${day2}_resend.csv`, secondNight);
      await eventually(async () => (await sftp.files('/outbound/processed')).includes(`workers_${day2}_resend.csv`), 'the resent file to be moved aside', 30_000);
    } finally {
      await poller.stop();
    }
    const rows = await stack.pool.query(`SELECT status, reason, duplicate_of, report FROM batch_files WHERE file_name = $1`, [`workers_${day2}_resend.csv`]);
    expect(rows.rows).toHaveLength(1);
    const original = await stack.pool.query(`SELECT id FROM batch_files WHERE file_name = $1 AND status = 'processed'`, [`workers_${day2}.csv`]);
    expect(rows.rows[0]).toMatchObject({ status: 'duplicate', duplicate_of: original.rows[0].id, reason: expect.stringContaining(`workers_${day2}.csv`) });
    expect(rows.rows[0].report).toMatchObject({ status: 'duplicate', rows: 0, applied: 0, events: [], missing: [] });
    expect(await sftpEventCount()).toBe(before);
    expect(await sftp.files('/outbound')).toEqual([]);
  });

  it('the same workers re-exported with extra columns, reordered, UTF-8 with a BOM and LF endings: all unchanged, no event', async () => {
    const before = await sftpEventCount();
    const columns = ['Cost_Center', ...[...WORKER_REPORT_COLUMNS].reverse()];
    const rows = [anaPromoted, chenMoved, kofiLeaves, { ...hanaFixed, Hire_Date: '2026-03-02' }, ivan].map((w) => ({ ...w, Cost_Center: 'CC-4100' }));
    await sftp.drop(`/outbound/workers_${day2}_v2.csv`, `\ufeff${report(rows, columns, '\n')}`);
    const [batch] = await pollSftpOnce(deps(day2));
    expect(batch).toMatchObject({ status: 'processed', rows: 5, applied: 0, unchanged: 4, events: [], missing: ['21004'] });
    expect(batch!.skipped).toEqual([{ line: 6, field: 'Worker_Type', problem: expect.stringContaining('"Board Member"') }]);
    expect(await sftpEventCount()).toBe(before);
  });

  it('a file without a header, with wrong columns or in an unreadable encoding fails as a whole: moved to failed/, dead-lettered, nothing emitted; an unknown host key is refused', async () => {
    const before = await sftpEventCount();
    const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000);
    const [headerLine, ...lines] = secondNight.split('\r\n');
    await sftp.drop('/outbound/no_header.csv', lines.join('\r\n'), at(1));
    await sftp.drop('/outbound/wrong_columns.csv', [headerLine!.replace('Employee_ID', 'Worker_ID'), ...lines].join('\r\n'), at(2));
    await sftp.drop('/outbound/latin1.csv', Buffer.from(secondNight.replace('Reyes', 'Reyés'), 'latin1'), at(3));
    await sftp.drop('/outbound/notes.txt', 'not an export', at(4));

    // A server presenting another host key is not talked to: the files stay where they are.
    await expect(pollSftpOnce({ ...deps(day2), sftp: { ...deps(day2).sftp, hostKeySha256: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).rejects.toThrow();
    expect(await sftp.files('/outbound')).toEqual(['latin1.csv', 'no_header.csv', 'notes.txt', 'wrong_columns.csv']);

    const batches = await pollSftpOnce(deps(day2));
    expect(batches.map((b) => [b.file, b.status, b.events.length, b.applied])).toEqual([
      ['no_header.csv', 'failed', 0, 0],
      ['wrong_columns.csv', 'failed', 0, 0],
      ['latin1.csv', 'failed', 0, 0],
    ]);
    expect(batches[0]!.reason).toMatch(/^no header row/);
    expect(batches[1]!.reason).toBe('the header lacks the column Employee_ID');
    expect(batches[2]!.reason).toMatch(/not readable as UTF-8/);
    expect(await sftpEventCount()).toBe(before);
    expect(await sftp.files('/outbound')).toEqual(['notes.txt']);
    expect(await sftp.files('/outbound/failed')).toEqual(['latin1.csv', 'no_header.csv', 'wrong_columns.csv']);

    const letters = await stack.pool.query(`SELECT endpoint, status, reason, detail, raw_body FROM dead_letters WHERE source = 'sftp' ORDER BY id`);
    expect(letters.rows).toHaveLength(3);
    expect(letters.rows[1]).toMatchObject({ endpoint: `sftp://${sftp.host}:${sftp.port}/outbound/wrong_columns.csv`, status: 422, reason: 'the header lacks the column Employee_ID' });
    expect(letters.rows[1].raw_body).toContain('Worker_ID,Legal_First_Name');
    // Bytes that are not text are kept exactly, base64-encoded.
    expect(Buffer.from(letters.rows[2].raw_body, 'base64').toString('latin1')).toContain('Reyés');
    const failed = await stack.pool.query(`SELECT file_name, status, dead_letter_id, moved_to FROM batch_files WHERE status = 'failed' ORDER BY id`);
    expect(failed.rows.map((r) => [r.file_name, r.moved_to])).toEqual([
      ['no_header.csv', '/outbound/failed/no_header.csv'],
      ['wrong_columns.csv', '/outbound/failed/wrong_columns.csv'],
      ['latin1.csv', '/outbound/failed/latin1.csv'],
    ]);
    expect(failed.rows.every((r) => r.dead_letter_id)).toBe(true);
  });

  it('a poll interrupted midway (Temporal gone after one event) leaves the file in place, and the next poll resumes it: every event once, all in the report', async () => {
    const before = await sftpEventCount();
    const name = `workers_${addDays(day2, 1)}.csv`;
    await sftp.drop(`/outbound/${name}`, report([{ ...anaPromoted, Manager_ID: '21091' }, chenMoved, kofiLeaves, { ...hanaFixed, Location: 'HQ' }, ivan]));
    // Temporal takes the first event of the file, then goes away.
    let calls = 0;
    const flaky = new Client({
      connection: stack.client.connection,
      interceptors: {
        workflow: [{ signalWithStart: (input, next) => (calls++ === 0 ? next(input) : Promise.reject(new Error('14 UNAVAILABLE: connection refused'))) }],
      },
    });
    const interrupted = await pollSftpOnce({ ...deps(day2), intake: { ...deps(day2).intake, temporal: flaky } }).then(() => null, (err: unknown) => err);
    expect(interrupted).toBeInstanceOf(SftpBatchError);
    expect((interrupted as SftpBatchError).file).toBe(name);
    expect(await sftp.files('/outbound')).toEqual(['notes.txt', name]);
    const record = (await stack.pool.query(`SELECT id, status, reason FROM batch_files WHERE file_name = $1`, [name])).rows;
    expect(record).toEqual([expect.objectContaining({ status: 'processing', reason: expect.stringMatching(/^interrupted: .*UNAVAILABLE/) })]);
    expect(await sftpEventCount()).toBe(before + 1);

    const [batch] = await pollSftpOnce(deps(day2));
    expect(batch).toMatchObject({ file: name, status: 'processed', batchFileId: Number(record[0].id), rows: 5, applied: 2, unchanged: 2, missing: ['21004'] });
    expect(batch!.events.map((e) => [e.employeeId, e.type, e.status])).toEqual([
      ['21001', 'role_change', 'accepted'],
      ['21005', 'transfer', 'accepted'],
    ]);
    expect(await sftpEventCount()).toBe(before + 2);
    await settled(batch!);
    expect(learner('21001')).toMatchObject({ manager_id: '21091' });
    expect(learner('21005')).toMatchObject({ branches: ['BR-HQ'] });
    expect(await sftp.files('/outbound/processed')).toContain(name);
  });
});

describe('SFTP settings from the environment', () => {
  it('no SFTP_HOST: no poller; a host without credentials is refused; the rest has defaults', () => {
    expect(sftpSettingsFromEnvironment({})).toBeNull();
    expect(() => sftpSettingsFromEnvironment({ SFTP_HOST: 'sftp.example.com' })).toThrow(/SFTP_USERNAME/);
    expect(() => sftpSettingsFromEnvironment({ SFTP_HOST: 'sftp.example.com', SFTP_USERNAME: 'hrsync' })).toThrow(/SFTP_PASSWORD or SFTP_PRIVATE_KEY_FILE/);
    expect(() => sftpSettingsFromEnvironment({ SFTP_HOST: 'h', SFTP_USERNAME: 'u', SFTP_PASSWORD: 'p', SFTP_PORT: 'ssh' })).toThrow(/SFTP_PORT/);
    expect(sftpSettingsFromEnvironment({ SFTP_HOST: 'sftp.example.com', SFTP_USERNAME: 'hrsync', SFTP_PASSWORD: 'p', SFTP_HOST_KEY_SHA256: 'SHA256:abc' })).toEqual({
      sftp: { host: 'sftp.example.com', port: 22, username: 'hrsync', password: 'p', hostKeySha256: 'SHA256:abc' },
      intervalMs: 300_000,
    });
  });
});
