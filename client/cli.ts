import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../stack/config';
import { aiMapper, openAiClient, postgresDecisionStore } from '../activities/ai';
import { MappingInput } from '../domain/ai';
import { instantOf } from '../domain/dates';
import { describeInvalid } from '../domain/hr-event';
import { loadOrganisation } from '../domain/load-organisation';
import { describePlan } from '../domain/approval';
import { decide, pendingApprovals } from './approvals';
import { withDatabase, withTemporal } from './connections';
import { employeePlan, employeeStatus } from './inspect';
import { signEvent } from './signing';
import { registerReportCommands } from './report-commands';

// The `hrsync` command line. `--json` prints one JSON document on stdout; errors go to stderr
// with a non-zero exit.

const program = new Command('hrsync')
  .description('HRIS → LMS lifecycle integration on Temporal')
  .showHelpAfterError();

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
// `hrsync status E1 | head` closes the pipe early; that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const quietSdk = () => Runtime.install({ logger: new DefaultLogger('WARN') });

program
  .command('start')
  .description('run the bridge and a worker, starting whatever is not configured (Temporal dev server, PostgreSQL, simulators)')
  .action(async () => {
    quietSdk();
    const { startLocalStack } = await import('../stack/local');
    const stack = await startLocalStack({ progress: (line) => out(line) });
    out('\nhrsync is running:');
    for (const [name, url] of Object.entries(stack.urls)) out(`  ${name.padEnd(16)} ${url}`);
    out('\nTry: npx hrsync event simulators/examples/hire.json && npx hrsync status E1001');
    out('Stop with Ctrl-C.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    out('stopping…');
    await stack.stop();
  });

program
  .command('demo')
  .description('a scripted scenario end to end: hires across every site, then a table of LMS state; exit 0 only if all match')
  .action(async () => {
    quietSdk();
    process.env.LOG_LEVEL ??= 'warn';
    // The logger exists already (imported with the CLI): the demo's transcript is for people.
    (await import('../stack/logger')).logger.level = process.env.LOG_LEVEL;
    const { runDemo } = await import('./demo');
    process.exitCode = (await runDemo()) ? 0 : 1;
  });

program
  .command('worker')
  .description('run a worker against TEMPORAL_ADDRESS and DATABASE_URL (for deployments)')
  .action(async () => {
    await import('../workers/main');
  });

program
  .command('bridge')
  .description('run the event bridge alone (for deployments)')
  .action(async () => {
    const { runBridge } = await import('./bridge-main');
    await runBridge();
  });

program
  .command('simulators')
  .description('run the HRIS and LMS simulators on their default ports')
  .action(async () => {
    const { runSimulators } = await import('../simulators/main');
    await runSimulators();
  });

program
  .command('toolchain')
  .description('find the Temporal CLI (PATH, Go bin folder) or build it with go install, and print its path')
  .action(async () => {
    const { ensureTemporalCli, TEMPORAL_CLI_MODULE } = await import('../stack/temporal');
    const cli = ensureTemporalCli();
    if (!cli) throw new Error(`no temporal CLI and no Go toolchain to build it (go install ${TEMPORAL_CLI_MODULE}); the SDK will try to download a dev server instead`);
    out(cli);
  });

program
  .command('event')
  .argument('<file>', 'an HrEvent JSON file, or - for standard input')
  .description('sign an HrEvent and submit it to the bridge')
  .action(async (file: string) => {
    const config = loadConfig();
    if (!config.webhookSecret) throw new Error('no signing secret: set HRSYNC_WEBHOOK_SECRET (or run `npm start`, which records one in .hrsync/runtime.json)');
    const raw = readFileSync(file === '-' ? 0 : file, 'utf8').trim();
    let res: Response;
    try {
      res = await fetch(`${config.bridgeUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...signEvent(config.webhookSecret, raw) }, body: raw });
    } catch (err) {
      throw new Error(`cannot reach the bridge at ${config.bridgeUrl}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    const body = await res.text();
    if (!res.ok) throw new Error(`the bridge answered ${res.status}: ${body}`);
    out(body);
  });

program
  .command('status')
  .argument('<employee>', 'employee id')
  .option('--json', 'one JSON document on stdout')
  .description('HR profile, LMS account, groups and enrollments, competency gap, timers, workflows, pending approvals and the last audit entries')
  .action(async (employeeId: string, opts: { json?: boolean }) => {
    const config = loadConfig();
    const status = await withDatabase(config, (pool) => withTemporal(config, (client) => employeeStatus(config, client, pool, employeeId)));
    if (opts.json) return out(JSON.stringify(status, null, 2));
    const e = status.employee;
    out(`Employee ${employeeId}`);
    out(e ? `  HRIS: ${e.jobTitle} (${e.jobCode}), ${e.department}, site ${e.site}, ${e.employmentType}, starts ${e.startDate}${e.terminationDate ? `, leaves ${e.terminationDate}` : ''}${e.contract ? `, contract ends ${e.contract.endDate}` : ''}` : '  HRIS: not found');
    if (status.accessGroups.length) out(`  access groups: ${status.accessGroups.join(', ')}`);
    const l = status.lms;
    out(l ? `  LMS:  user ${l.userId}, ${l.active ? 'active' : 'INACTIVE'}, branch ${l.branch ?? '-'}` : '  LMS:  no account');
    if (l) {
      out(`  groups: ${l.groups.join(', ') || '-'}`);
      out('  enrollments:');
      for (const en of l.enrollments) out(`    ${en.courseId.padEnd(10)} ${en.status.padEnd(12)} due ${en.dueDate ?? '-'}`);
    }
    if (status.competencyGap.length) out(`  competency gap of the last role change or transfer: ${status.competencyGap.map((g) => `${g.courseId} (now ${g.statusNow}, due ${g.dueDate})`).join(', ')}`);
    const lc = status.lifecycle;
    if (lc?.current) out(`  running now: ${lc.current.workflowId}`);
    if (lc?.pending.length) out(`  waiting in line: ${lc.pending.map((p) => `${p.type} ${p.eventId}`).join(', ')}`);
    if (lc?.contract) out(`  contract timers: sponsor reminder ${lc.contract.reminded ? 'sent' : `at ${lc.contract.remindAt}`}, account closes at ${lc.contract.endsAt}`);
    if (status.training.length) {
      out('  training records (latest per course):');
      for (const t of status.training) {
        const valid = t.expiresAt ? (t.standing === 'overdue' ? `EXPIRED ${t.expiresAt.slice(0, 10)}: overdue` : `valid until ${t.expiresAt.slice(0, 10)}`) : 'no expiry';
        out(`    ${t.courseId.padEnd(10)} completed ${t.completedAt.slice(0, 10)}${t.score === null ? '' : ` (score ${t.score})`}, ${valid}${t.renewal ? `; ${t.renewal}` : ''}`);
      }
    }
    if (status.archive.length) {
      out('  archived training records:');
      for (const a of status.archive) out(`    ${a.courseId.padEnd(10)} ${a.status.padEnd(12)} separated ${a.separatedOn}, kept until ${a.retentionUntil}`);
    }
    out('  workflows:');
    for (const w of status.workflows) out(`    ${w.type.padEnd(18)} ${w.status.padEnd(11)} ${w.workflowId}`);
    out(`  pending approvals: ${status.pendingApprovals.length ? '' : 'none'}`);
    for (const p of status.pendingApprovals) out(`    ${p.id}: ${p.kind}, approvers ${p.approvers.join(', ')}: ${p.summary}`);
    out('  last audit entries:');
    for (const a of status.audit) out(`    ${a.at}  ${a.kind.padEnd(12)} ${a.action.padEnd(26)} ${a.result}`);
  });

program
  .command('map')
  .requiredOption('--title <title>', 'the job title as the HRIS has it')
  .option('--job-code <code>', 'the HRIS job code')
  .option('--department <department>', 'department code or name')
  .option('--site <site>', 'site code or name')
  .option('--employment-type <type>', 'employee, contractor or temporary')
  .option('--json', 'one JSON document on stdout')
  .description('what the AI mapper (or its deterministic fallback) decides for a job, with confidence and rationale; the decision is recorded')
  .action(async (opts: { title: string; jobCode?: string; department?: string; site?: string; employmentType?: string; json?: boolean }) => {
    const parsed = MappingInput.safeParse({ jobTitle: opts.title, jobCode: opts.jobCode, department: opts.department, site: opts.site, employmentType: opts.employmentType });
    if (!parsed.success) throw new Error(describeInvalid(parsed.error).message);
    const config = loadConfig();
    const decision = await withDatabase(config, (pool) =>
      aiMapper({ client: openAiClient(config.ai), model: config.ai.model, timeoutMs: config.ai.timeoutMs, store: postgresDecisionStore(pool) }).mapJob(parsed.data, loadOrganisation(config.organisationPath)),
    );
    const { jobCode, role, groups, curricula, confidence, rationale, mapper, needsApproval } = decision;
    if (opts.json) return out(JSON.stringify({ jobCode, role, groups, curricula, confidence, rationale, mapper, needsApproval }, null, 2));
    out(`${opts.title} → ${jobCode ?? 'no catalog job'} (role ${role}), confidence ${confidence.toFixed(2)}, by the ${mapper} mapper${decision.cached ? ' (cached answer)' : ''}`);
    out(`  groups: ${groups.join(', ') || '-'}`);
    out(`  curricula: ${curricula.join(', ') || '-'}`);
    out(`  rationale: ${rationale}`);
    if (decision.fallbackReason) out(`  why not the LLM: ${decision.fallbackReason}`);
    out(needsApproval ? `  needs approval: ${decision.approvalReasons.join('; ')}` : '  would be applied without approval');
    out(`  recorded as decision ${decision.decisionId}`);
  });

program
  .command('approvals')
  .option('--employee <id>', 'only this employee')
  .option('--json', 'one JSON document on stdout')
  .description('the human-approval queue: every plan awaiting a decision, who may decide, and by when')
  .action(async (opts: { employee?: string; json?: boolean }) => {
    const config = loadConfig();
    const queue = await withTemporal(config, (client) => pendingApprovals(client, opts.employee));
    if (opts.json) return out(JSON.stringify(queue, null, 2));
    if (!queue.length) return out('Nothing is awaiting a decision.');
    for (const p of queue) {
      out(`${p.id}`);
      out(`  ${p.summary}`);
      out(`  kind ${p.kind}; requested ${p.requestedAt}; approvers: ${p.approvers.join(', ')}${p.escalated ? ' (escalated)' : ''}`);
      if (p.deadlines.rejectAt) out(`  rejected automatically at ${p.deadlines.rejectAt} without a decision`);
      for (const line of describePlan(p.plan)) out(`    - ${line}`);
    }
  });

for (const verb of ['approve', 'reject'] as const) {
  program
    .command(verb)
    .argument('<id>', 'the approval id: the id of the workflow awaiting it (see hrsync approvals)')
    .requiredOption('--as <approver>', 'who decides (must be an approver for that kind of change)')
    .option('--reason <reason>', 'why, for the audit trail')
    .option('--json', 'one JSON document on stdout')
    .description(`${verb} a plan awaiting a decision`)
    .action(async (id: string, opts: { as: string; reason?: string; json?: boolean }) => {
      const config = loadConfig();
      const outcome = await withDatabase(config, (pool) =>
        withTemporal(config, (client) => decide(client, pool, id, { decision: verb, approver: opts.as, reason: opts.reason })),
      );
      if (opts.json) return out(JSON.stringify(outcome, null, 2));
      out(`${id}: ${outcome.decision === 'approve' ? 'approved' : 'rejected'} by ${outcome.approver} at ${outcome.decidedAt}${outcome.reason ? ` (${outcome.reason})` : ''}`);
    });
}

program
  .command('reconcile')
  .option('--dry-run', 'show the drift and the plan without changing anything')
  .option('--json', 'one JSON document on stdout (the full exception report)')
  .description('the HRIS roster against the LMS now (the nightly run, on demand): drift fixed through the employee workflows, or with --dry-run only reported')
  .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
    const config = loadConfig();
    const { runReconciliation } = await import('./reconcile');
    const report = await withDatabase(config, (pool) =>
      withTemporal(config, (client) => runReconciliation(client, pool, config.taskQueue, { dryRun: !!opts.dryRun, showProgress: !opts.json && process.stderr.isTTY === true })),
    );
    if (opts.json) return out(JSON.stringify(report, null, 2));
    out(`${report.dryRun ? 'Dry run: nothing was changed.' : 'Reconciliation'} ${report.runId}: ${report.checked} people checked, ${report.inSync} in sync, ${report.drift.length} drifted, ${report.needsHuman.length} need a person.`);
    for (const [kind, n] of Object.entries(report.byKind)) out(`  ${kind.padEnd(24)} ${n}`);
    if (report.bulkDeactivation && report.bulkDeactivation.decision !== 'not-needed') out(`  bulk deactivation of ${report.bulkDeactivation.count}: ${report.bulkDeactivation.decision}`);
    if (!report.dryRun) out(`  fixes handed to the employee workflows: ${report.fixRequested.length}`);
    for (const d of report.drift.slice(0, 50)) out(`  drift  ${d.employeeId.padEnd(12)} ${d.kinds.join(', ')}: ${d.steps.join(' ')}`);
    if (report.drift.length > 50) out(`  … and ${report.drift.length - 50} more (--json for all)`);
    for (const h of report.needsHuman) out(`  PERSON ${h.employeeId.padEnd(12)} ${h.reason}: ${h.detail}`);
  });

program
  .command('poll-completions')
  .option('--since <date-time>', 'read from this ISO date-time instead of the kept watermark (a backfill; completions already taken start nothing)')
  .option('--json', 'one JSON document on stdout')
  .description('read the completions the LMS recorded since the last poll now (the scheduled poll, on demand), for an LMS without webhooks')
  .action(async (opts: { since?: string; json?: boolean }) => {
    if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) throw new Error(`--since must be an ISO 8601 date-time, got "${opts.since}"`);
    const config = loadConfig();
    const result = await withTemporal(config, (client) =>
      client.workflow.execute('completionPoll', { workflowId: `completion-poll-${new Date().toISOString().replace(/[:.]/g, '-')}`, taskQueue: config.taskQueue, args: [{ since: opts.since ?? null }] }),
    );
    const r = result as { since: string | null; watermark: string | null; found: number; accepted: number; duplicates: number; started: boolean };
    if (opts.json) return out(JSON.stringify(r, null, 2));
    if (r.started) return out(`First poll: completions will be read from ${r.watermark} on (use --since to read earlier ones).`);
    out(`Completions since ${r.since}: ${r.found} found, ${r.accepted} new (a learningRecord workflow each), ${r.duplicates} already taken. Next poll reads from ${r.watermark}.`);
  });

program
  .command('replay')
  .option('--workflow-id <id>', 'a workflow on the Temporal server (TEMPORAL_ADDRESS)')
  .option('--file <history.json>', 'a history exported with: temporal workflow show -w ID -o json')
  .option('--dir <dir>', 'every .json history in a folder (test/golden-histories is what CI replays)')
  .option('--json', 'one JSON document on stdout')
  .description("replays workflow histories against today's workflow code; exits non-zero if any no longer replays")
  .action(async (opts: { workflowId?: string; file?: string; dir?: string; json?: boolean }) => {
    const sources = [opts.workflowId, opts.file, opts.dir].filter(Boolean);
    if (sources.length !== 1) throw new Error('give exactly one of --workflow-id, --file or --dir');
    quietSdk();
    const { historiesInDirectory, historyFromFile, historyFromWorkflow, replay } = await import('./replay');
    const config = loadConfig();
    const histories = opts.dir
      ? historiesInDirectory(opts.dir)
      : opts.file
        ? [historyFromFile(opts.file)]
        : [await withTemporal(config, (client) => historyFromWorkflow(client, opts.workflowId!))];
    if (!opts.json) process.stderr.write(`replaying ${histories.length} histor${histories.length === 1 ? 'y' : 'ies'} against the workflows in this checkout…\n`);
    const outcomes = await replay(histories);
    const failed = outcomes.filter((o) => !o.ok);
    if (opts.json) out(JSON.stringify({ replayed: outcomes.length, failed: failed.length, outcomes }, null, 2));
    else {
      for (const o of outcomes) out(`${o.ok ? 'ok  ' : 'FAIL'}  ${(o.workflowType ?? '?').padEnd(18)} ${o.source}${o.ok ? '' : `\n      ${o.kind}${o.eventId ? ` at event ${o.eventId}` : ''}: ${o.problem}`}`);
      out(`${outcomes.length - failed.length}/${outcomes.length} histories replay against today's code`);
    }
    if (failed.length) process.exitCode = 1;
  });

program
  .command('plan')
  .argument('<employee>', 'employee id')
  .option('--json', 'one JSON document on stdout')
  .option('--as-of <when>', 'plan for a later date or moment (YYYY-MM-DD or ISO date-time), e.g. a termination date')
  .description('desired vs actual LMS state and the plan that would close the gap (dry run; changes nothing)')
  .action(async (employeeId: string, opts: { json?: boolean; asOf?: string }) => {
    if (opts.asOf && Number.isNaN(instantOf(opts.asOf))) throw new Error(`--as-of must be a date (YYYY-MM-DD) or an ISO date-time, got "${opts.asOf}"`);
    const config = loadConfig();
    const plan = await withDatabase(config, (pool) => employeePlan(config, pool, employeeId, opts.asOf));
    if (opts.json) return out(JSON.stringify(plan, null, 2));
    out(`Plan for ${employeeId} as of ${plan.asOf} (dry run):`);
    out(`  desired: ${plan.desired.active ? 'active' : 'inactive'}, branch ${plan.desired.branch ?? '-'}, ${plan.desired.groups.length} groups, ${plan.desired.enrollments.length} enrollments`);
    out(plan.actual ? `  actual:  ${plan.actual.active ? 'active' : 'inactive'}, branch ${plan.actual.branch ?? '-'}, ${plan.actual.groups.length} groups, ${plan.actual.enrollments.length} enrollments` : '  actual:  no LMS account');
    if (plan.mapping) {
      const m = plan.mapping;
      out(`  job code not in the organisation: the ${m.mapper} mapper says ${m.jobCode ?? 'no catalog job'} (role ${m.role}, confidence ${m.confidence.toFixed(2)})${m.needsApproval ? `, held for approval: ${m.approvalReasons.join('; ')}` : ''}`);
    }
    for (const problem of plan.desired.unresolved) out(`  needs review: ${problem}`);
    if (!plan.steps.length) return out('  the LMS already matches: nothing to do');
    out(`  ${plan.steps.length} steps:`);
    for (const step of plan.steps) {
      const { action, ...rest } = step;
      out(`    ${action.padEnd(16)} ${JSON.stringify(rest)}`);
    }
  });

registerReportCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`hrsync: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
