import { randomBytes } from 'node:crypto';
import { addDays, isoDateOf } from '../domain/dates';
import type { EmployeeProfile, HrEvent } from '../domain/hr-event';
import { completionKey } from '../domain/learning';
import { stepKey } from '../domain/lms-state';
import type { LearningRecordResult } from '../workflows/learning';
import { bambooRecord, contractorProfile, hireEvent, lifecycleEvent, sampleRoster } from '../simulators/roster';
import { createPool } from '../stack/database';
import { startLocalStack } from '../stack/local';
import type { SyncResult } from '../workflows/learner-sync';
import type { PendingApproval } from '../domain/approval';
import { learningRecordWorkflowId, pendingApprovalQuery } from '../workflows/definitions';
import { decide } from './approvals';
import { employeePlan } from './inspect';
import { resultWhenStarted } from './results';
import { signEvent } from './signing';

// `hrsync demo`: the lifecycle of a small workforce through the real path (signed HTTP → bridge →
// Temporal → HRIS/LMS simulators → audit): hires at every site, a promotion, a transfer, an access
// grant, a termination, and contractors whose contracts end or are extended while the demo runs.
// Then every LMS account is checked against its desired state; exit 0 only when all match.

const write = (line: string) => process.stdout.write(`${line}\n`);
const CONTRACT_SECONDS = 15;

export async function runDemo(): Promise<boolean> {
  const started = Date.now();
  const sharedServices = !!(process.env.TEMPORAL_ADDRESS || process.env.DATABASE_URL);
  const stack = await startLocalStack({ ephemeral: true, progress: (line) => write(`  ${line}`) });
  const pool = createPool(stack.config.databaseUrl!, { embedded: stack.config.embeddedDatabase });
  try {
    const hris = stack.hrisSimulator;
    if (stack.absorbSimulator) throw new Error('the demo drives the Docebo-style LMS simulator: unset LMS_VENDOR (the Absorb-style one runs under npm start and in test/lms-contract.test.ts)');
    if (!hris || !stack.lmsSimulator) {
      throw new Error('the demo hires made-up people, so it runs against the simulators: unset HRIS_BASE_URL and LMS_BASE_URL');
    }
    // Against a shared Temporal or database, give this run's people ids nobody else has.
    const prefix = sharedServices ? `D${randomBytes(3).toString('hex')}-` : 'E';
    const runTag = randomBytes(4).toString('hex');
    const today = isoDateOf(new Date());
    const roster = sampleRoster(today, prefix);
    for (const person of roster) hris.upsertEmployee(bambooRecord(person));

    const post = async (event: HrEvent) => {
      const body = JSON.stringify({ ...event, id: `${event.id}-${runTag}` });
      const res = await fetch(`${stack.config.bridgeUrl}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signEvent(stack.config.webhookSecret!, body) },
        body,
      });
      return { status: res.status, body: (await res.json()) as { eventWorkflowId?: string | null; error?: string } };
    };
    /** Submits an event and waits for the workflow that handles it (approving it as `approver` when it asks). */
    const submit = async (event: HrEvent, approver?: string): Promise<{ result: SyncResult | null; ms: number }> => {
      const t0 = Date.now();
      const res = await post(event);
      if (res.status !== 202) throw new Error(`the bridge answered ${res.status} for ${event.type} of ${event.employee.id}: ${JSON.stringify(res.body)}`);
      const id = res.body.eventWorkflowId;
      if (id && approver) {
        let pending: PendingApproval | null = null;
        while (!pending) {
          pending = await stack.temporal.workflow.getHandle(id).query(pendingApprovalQuery).catch(() => null);
          if (!pending) await new Promise((r) => setTimeout(r, 200));
        }
        write(`  approval      ${event.employee.id.padEnd(10)} ${pending.summary}`);
        const outcome = await decide(stack.temporal, pool, id, { decision: 'approve', approver, reason: 'demo' });
        write(`  approval      ${event.employee.id.padEnd(10)} approved by ${outcome.approver} (as the CLI's hrsync approve does)`);
      }
      const result = id ? await resultWhenStarted<SyncResult>(stack.temporal, id) : null;
      return { result, ms: Date.now() - t0 };
    };
    const changes = (r: SyncResult | null) => {
      const n = r?.steps.length ?? 0;
      return `${n} LMS change${n === 1 ? '' : 's'}`;
    };

    write(`\n1. Hiring ${roster.length} people across ${new Set(roster.map((p) => p.site)).size} sites (start date ${roster[0]!.startDate}):`);
    const width = String(roster.length).length;
    const timings: number[] = [];
    let done = 0;
    await Promise.all(
      roster.map(async (person) => {
        const { result, ms } = await submit(hireEvent(person));
        timings.push(ms);
        write(`  [${String(++done).padStart(width)}/${roster.length}] ${person.id.padEnd(10)} ${person.jobTitle.padEnd(30)} ${person.site.padEnd(4)} → ${changes(result)} in ${ms} ms`);
      }),
    );
    const again = await post(hireEvent(roster[0]!));
    write(`  redelivery of ${roster[0]!.id}'s hire → HTTP ${again.status} (${again.status === 200 ? 'recognised, nothing started' : 'UNEXPECTED'})`);

    write('\n2. Changes in the workforce:');
    const change = async (label: string, before: EmployeeProfile, after: EmployeeProfile, event: HrEvent, terminationDate?: string, approver?: string) => {
      hris.upsertEmployee(bambooRecord(after, terminationDate));
      const { result } = await submit(event, approver);
      const gap = result?.competencyGap.length ? `; competency gap ${result.competencyGap.map((g) => g.courseId).join(', ')}` : '';
      write(`  ${label.padEnd(13)} ${before.id.padEnd(10)} ${describe(before, after, event)} → ${changes(result)}${gap}`);
    };
    const effective = addDays(today, 7);
    const [operator, , , technician, forklift, , , , , , analyst] = roster;
    const promoted = { ...operator!, jobCode: 'PRC-SUP', jobTitle: 'Process Supervisor' };
    // A promotion into a leadership role waits for a leadership approver.
    await change('promotion', operator!, promoted, lifecycleEvent('role_change', promoted, { id: `evt-promo-${operator!.id}`, effectiveDate: effective }), undefined, 'hr.director');
    const moved = { ...forklift!, site: 'BAY', managerId: roster[1]!.id };
    await change('transfer', forklift!, moved, lifecycleEvent('transfer', moved, { id: `evt-move-${forklift!.id}` }));
    await change('access grant', technician!, technician!, lifecycleEvent('access_grant', technician!, { id: `evt-grant-${technician!.id}`, access: { group: 'DCS Engineering Workstation' } }));
    // A hire whose HRIS job code the organisation's table does not know: the AI mapper decides.
    const legacy: EmployeeProfile = { ...roster[2]!, id: `${prefix}1013`, firstName: 'Noor', lastName: 'Haddad', email: `noor.haddad.${prefix}1013@example.com`.toLowerCase(), jobCode: 'MT-03', jobTitle: 'Sr. Instrument Tech' };
    hris.upsertEmployee(bambooRecord(legacy));
    const mapped = (await submit(hireEvent(legacy))).result;
    const m = mapped?.mapping;
    write(`  AI mapping    ${legacy.id.padEnd(10)} "${legacy.jobTitle}" (HRIS code ${legacy.jobCode}) → ${m?.jobCode ?? 'no catalog job'} by the ${m?.mapper} mapper, confidence ${m?.confidence.toFixed(2)}${m?.needsApproval ? ', held for approval' : ''} → ${changes(mapped ?? null)}`);
    roster.push(legacy);
    await change('termination', analyst!, analyst!, lifecycleEvent('termination', analyst!, { id: `evt-term-${analyst!.id}`, termination: { date: today, reasonCode: 'RESIGNATION' } }), today);

    write(`\n3. Contractors (contracts ending ${CONTRACT_SECONDS} s from now):`);
    const endsAt = new Date(Date.now() + CONTRACT_SECONDS * 1000).toISOString();
    const leaving = contractorProfile(`${prefix}9001`, 'BAY', 'CTR-MNT', today, endsAt);
    const staying = contractorProfile(`${prefix}9002`, 'DAY', 'CTR-PIPE', today, endsAt);
    for (const c of [leaving, staying]) {
      hris.upsertEmployee(bambooRecord(c));
      const { result } = await submit(lifecycleEvent('contractor_start', c, { id: `evt-start-${c.id}` }));
      write(`  start        ${c.id.padEnd(10)} ${c.jobTitle} at ${c.site}, contract ends ${endsAt} → ${changes(result)}`);
    }
    const extended = { ...staying, contract: { ...staying.contract!, endDate: addDays(today, 90) } };
    hris.upsertEmployee(bambooRecord(extended));
    await submit(lifecycleEvent('contract_extension', extended, { id: `evt-extend-${staying.id}` }));
    write(`  extension    ${staying.id.padEnd(10)} contract now ends ${extended.contract.endDate} (the timer moves)`);
    write(`  waiting for ${leaving.id}'s contract to end…`);
    const lms = stack.lmsSimulator;
    const deadline = Date.parse(endsAt) + 60_000;
    while (lms.snapshot().users.find((u) => u.external_id === leaving.id)?.status !== '0') {
      if (Date.now() > deadline) throw new Error(`${leaving.id}'s account was still open a minute after the contract end`);
      await new Promise((r) => setTimeout(r, 250));
    }
    write(`  contract end ${leaving.id.padEnd(10)} account closed ${((Date.now() - Date.parse(endsAt)) / 1000).toFixed(1)} s after the end; ${staying.id} still ${lms.snapshot().users.find((u) => u.external_id === staying.id)?.status === '1' ? 'active' : 'CLOSED'}`);

    write('\n4. HR edits a record in the HRIS (a BambooHR webhook reaches the bridge):');
    hris.setWebhook({ url: `${stack.config.bridgeUrl}/webhooks/bamboohr`, privateKey: stack.config.surfaces.bamboohrWebhookKey! });
    const mover = roster[5]!;
    const moved2 = { ...mover, site: 'BAY', managerId: roster[1]!.id };
    const editedAt = Date.now();
    hris.upsertEmployee(bambooRecord(moved2));
    await hris.idle();
    const editDeadline = Date.now() + 60_000;
    while (lms.snapshot().users.find((u) => u.external_id === mover.id)?.branches[0] !== 'BR-BAY') {
      if (Date.now() > editDeadline) throw new Error(`${mover.id}'s move in the HRIS did not reach the LMS`);
      await new Promise((r) => setTimeout(r, 200));
    }
    write(`  HRIS edit     ${mover.id.padEnd(10)} location ${mover.site} → BAY: the LMS branch followed in ${Date.now() - editedAt} ms`);
    roster[5] = moved2;

    write('\n5. Learning flows back (the LMS announces a completion; a course-enrollment-completed webhook reaches the bridge):');
    lms.setWebhook({ url: `${stack.config.bridgeUrl}/webhooks/lms`, secret: stack.config.surfaces.lmsWebhookSecret! });
    const learner = roster[2]!;
    const completedAt = new Date().toISOString();
    const completedT0 = Date.now();
    await fetch(`${lms.url}/sim/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ externalId: learner.id, courseCode: 'LOTO-201', score: 96, completedAt }) });
    await lms.idle();
    const learned = await resultWhenStarted<LearningRecordResult>(stack.temporal, learningRecordWorkflowId(completionKey({ employeeId: learner.id, courseId: 'LOTO-201', completedAt })));
    const skillRows = hris.tableRows(learner.id, 'customSkills').map((r) => `${r.customSkillId} (${r.customProficiency})`);
    write(`  completion    ${learner.id.padEnd(10)} LOTO-201, score 96 → training record ${learned.recorded ? 'written' : 'already there'}; HRIS skills now ${skillRows.join(', ') || 'none'}; in ${Date.now() - completedT0} ms`);

    const everyone = [...roster, leaving, staying];
    const rows: string[][] = [];
    let mismatches = 0;
    for (const person of everyone) {
      const { actual, steps } = await employeePlan(stack.config, pool, person.id);
      if (steps.length) mismatches++;
      const firstDue = actual?.enrollments.map((e) => e.dueDate).filter(Boolean).sort()[0] ?? '-';
      rows.push([
        person.id,
        (hris.employees().find((e) => e.id === person.id)?.customJobCode ?? person.jobCode),
        hris.employees().find((e) => e.id === person.id)?.location ?? person.site,
        actual?.branch ?? '-',
        actual ? (actual.active ? 'active' : 'inactive') : 'none',
        String(actual?.groups.length ?? 0),
        String(actual?.enrollments.length ?? 0),
        firstDue,
        steps.length ? `NO: ${steps.map(stepKey).join(', ')}` : 'yes',
      ]);
    }
    write('');
    printTable(['employee', 'job code', 'site', 'branch', 'account', 'groups', 'enrollments', 'first due', 'matches desired'], rows);
    const sorted = [...timings].sort((a, b) => a - b);
    write(
      `\n${everyone.length - mismatches}/${everyone.length} LMS accounts match their desired state; hire → LMS median ${sorted[Math.floor(sorted.length / 2)]} ms; demo took ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
    return mismatches === 0 && again.status === 200;
  } finally {
    await pool.end();
    await stack.stop();
  }
}

function describe(before: EmployeeProfile, after: EmployeeProfile, event: HrEvent): string {
  switch (event.type) {
    case 'role_change':
      return `${before.jobCode} → ${after.jobCode}, effective ${event.effectiveDate}`;
    case 'transfer':
      return `${before.site} → ${after.site}`;
    case 'access_grant':
      return `joins "${event.access!.group}"`;
    case 'termination':
      return `leaves ${event.termination!.date} (${event.termination!.reasonCode})`;
    default:
      return event.type;
  }
}

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  write(line(header));
  write(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) write(line(row));
}
