import { randomBytes } from 'node:crypto';
import { docebo } from '../activities/lms';
import { bambooHr } from '../activities/hris';
import { isoDateOf } from '../domain/dates';
import { loadOrganisation } from '../domain/load-organisation';
import { desiredLmsState, planChanges } from '../domain/plan';
import { stepKey } from '../domain/lms-state';
import { bambooRecord, hireEvent, sampleRoster } from '../simulators/roster';
import { startLocalStack } from '../stack/local';
import { resultWhenStarted } from './results';
import { signEvent } from './signing';

// `hrsync demo`: hires the sample roster across every site through the real path (signed HTTP →
// bridge → Temporal → HRIS/LMS simulators → audit), then checks every LMS account against the
// desired state. Exit 0 only when all of them match.

const write = (line: string) => process.stdout.write(`${line}\n`);

export async function runDemo(): Promise<boolean> {
  const started = Date.now();
  const sharedServices = !!(process.env.TEMPORAL_ADDRESS || process.env.DATABASE_URL);
  const stack = await startLocalStack({ ephemeral: true, progress: (line) => write(`  ${line}`) });
  try {
    if (!stack.hrisSimulator || !stack.lmsSimulator) {
      throw new Error('the demo hires made-up people, so it runs against the simulators: unset HRIS_BASE_URL and LMS_BASE_URL');
    }
    // Against a shared Temporal or database, give this run's people ids nobody else has.
    const prefix = sharedServices ? `D${randomBytes(3).toString('hex')}-` : 'E';
    const runTag = randomBytes(4).toString('hex');
    const roster = sampleRoster(isoDateOf(new Date()), prefix);
    for (const person of roster) stack.hrisSimulator.upsertEmployee(bambooRecord(person));
    write(`\nHiring ${roster.length} people across ${new Set(roster.map((p) => p.site)).size} sites (start date ${roster[0]!.startDate}):`);

    const post = async (body: string) => {
      const res = await fetch(`${stack.config.bridgeUrl}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signEvent(stack.config.webhookSecret!, body) },
        body,
      });
      return { status: res.status, body: (await res.json()) as { eventWorkflowId?: string; error?: string } };
    };

    const width = String(roster.length).length;
    const events = roster.map((person) => hireEvent(person, `evt-hire-${person.id}-${runTag}`));
    const timings: number[] = [];
    let done = 0;
    await Promise.all(
      events.map(async (event) => {
        const t0 = Date.now();
        const res = await post(JSON.stringify(event));
        if (res.status !== 202 || !res.body.eventWorkflowId) throw new Error(`the bridge answered ${res.status} for ${event.employee.id}: ${JSON.stringify(res.body)}`);
        const result = await resultWhenStarted<{ steps: unknown[] }>(stack.temporal, res.body.eventWorkflowId);
        const ms = Date.now() - t0;
        timings.push(ms);
        const p = event.employee;
        write(`  [${String(++done).padStart(width)}/${roster.length}] ${p.id.padEnd(10)} ${p.jobTitle.padEnd(30)} ${p.site.padEnd(4)} → ${result.steps.length} LMS changes in ${ms} ms`);
      }),
    );

    const again = await post(JSON.stringify(events[0]));
    write(`  redelivery of ${events[0]!.id} → HTTP ${again.status} (${again.status === 200 ? 'recognised, nothing started' : 'UNEXPECTED'})`);

    const org = loadOrganisation();
    const hris = bambooHr(stack.config.hris);
    const lms = docebo(stack.config.lms);
    const today = isoDateOf(new Date());
    const rows: string[][] = [];
    let mismatches = 0;
    for (const person of roster) {
      const [profile, actual] = await Promise.all([hris.getProfile(person.id), lms.findLearner(person.id)]);
      const desired = desiredLmsState(profile!, org, today);
      const gap = planChanges(desired, actual);
      if (gap.length) mismatches++;
      const firstDue = actual?.enrollments.map((e) => e.dueDate).filter(Boolean).sort()[0] ?? '-';
      rows.push([
        person.id,
        person.jobCode,
        person.site,
        actual?.branch ?? '-',
        actual?.active ? 'active' : 'missing',
        String(actual?.groups.length ?? 0),
        String(actual?.enrollments.length ?? 0),
        firstDue,
        gap.length ? `NO: ${gap.map(stepKey).join(', ')}` : 'yes',
      ]);
    }
    write('');
    printTable(['employee', 'job code', 'site', 'branch', 'account', 'groups', 'enrollments', 'first due', 'matches desired'], rows);
    const sorted = [...timings].sort((a, b) => a - b);
    write(`\n${roster.length - mismatches}/${roster.length} LMS accounts match their desired state; hire → LMS median ${sorted[Math.floor(sorted.length / 2)]} ms; demo took ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    return mismatches === 0 && again.status === 200;
  } finally {
    await stack.stop();
  }
}

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  write(line(header));
  write(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) write(line(row));
}
