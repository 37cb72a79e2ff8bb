import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_DUE_SOON_DAYS } from '../domain/compliance';
import { isoDateOf } from '../domain/dates';
import { loadOrganisation } from '../domain/load-organisation';
import { loadConfig } from '../stack/config';
import { auditCsv, auditTimeline, auditTrail } from './audit-trail';
import { withDatabase } from './connections';
import { readComplianceReport, renderComplianceReport, REPORT_FORMATS, type ReportFormat } from './compliance-report';

// The compliance officer's commands: `hrsync audit EMPLOYEE [--json | --csv]` and
// `hrsync report compliance [...]`. client/cli.ts registers them with registerReportCommands;
// like every command there, output goes to stdout and errors are thrown (cli.ts prints them on
// stderr and exits non-zero).

const write = (text: string) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);


const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseAsOf(value: string): string {
  if (!ISO_DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || isoDateOf(new Date(`${value}T00:00:00Z`)) !== value) {
    throw new Error(`--as-of must be a date (YYYY-MM-DD), got "${value}"`);
  }
  return value;
}

function parseDays(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 3650) throw new Error(`--due-soon-days must be a whole number of days (0 to 3650), got "${value}"`);
  return n;
}

function formatFor(format: string | undefined, out: string | undefined): ReportFormat {
  if (format) {
    if (!(REPORT_FORMATS as string[]).includes(format)) throw new Error(`--format must be one of ${REPORT_FORMATS.join(', ')}, got "${format}"`);
    return format as ReportFormat;
  }
  const byExtension: Record<string, ReportFormat> = { '.html': 'html', '.htm': 'html', '.csv': 'csv', '.json': 'json' };
  return (out && byExtension[extname(out).toLowerCase()]) || 'text';
}

export function registerReportCommands(program: Command): void {
  program
    .command('audit')
    .argument('<employee>', 'employee id')
    .addOption(new Option('--json', 'one JSON document on stdout: { employeeId, entries: [...] }').conflicts('csv'))
    .addOption(new Option('--csv', 'RFC 4180 CSV with a header row on stdout').conflicts('json'))
    .description('the audit trail of one person: every event, AI decision (with its rationale), plan, approval, LMS step and outcome, in order, with workflow and run ids')
    .action(async (employeeId: string, opts: { json?: boolean; csv?: boolean }) => {
      const config = loadConfig();
      const trail = await withDatabase(config, (pool) => auditTrail(pool, employeeId));
      if (opts.json) return write(JSON.stringify(trail, null, 2));
      if (opts.csv) return write(auditCsv(trail));
      write(auditTimeline(trail));
    });

  const report = program.command('report').description('reports for compliance officers');
  report
    .command('compliance')
    .option('--site <code>', 'only this site (code or name)')
    .option('--format <format>', `${REPORT_FORMATS.join(' | ')} (default: from the --out extension, else text)`)
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--as-of <date>', 'the report date, YYYY-MM-DD (default: today, UTC); completions after it do not count')
    .option('--due-soon-days <n>', `the due-soon window in days (default ${DEFAULT_DUE_SOON_DAYS})`)
    .description('per site and role: who is compliant, due soon or overdue and since when, the overdue list with the regulations behind it, and compliance week by week')
    .action(async (opts: { site?: string; format?: string; out?: string; asOf?: string; dueSoonDays?: string }) => {
      const format = formatFor(opts.format, opts.out);
      const asOf = opts.asOf ? parseAsOf(opts.asOf) : isoDateOf(new Date());
      const dueSoonDays = opts.dueSoonDays === undefined ? DEFAULT_DUE_SOON_DAYS : parseDays(opts.dueSoonDays);
      const config = loadConfig();
      const org = loadOrganisation(config.organisationPath);
      const progress = process.stderr.isTTY
        ? (done: number, total: number) => {
            if (done === total || done % 250 === 0) process.stderr.write(`\rreading the LMS: ${done}/${total} learners${done === total ? '\n' : ''}`);
          }
        : undefined;
      const result = await readComplianceReport(config, org, { asOf, dueSoonDays, site: opts.site, onProgress: progress });
      const rendered = renderComplianceReport(result, format);
      if (!opts.out) return void process.stdout.write(rendered);
      writeFileSync(opts.out, rendered);
      const t = result.totals;
      write(`wrote ${opts.out} (${format}): ${t.people} people, ${t.compliant} compliant, ${t.dueSoon} due soon, ${t.overdue} overdue, as of ${asOf}`);
    });
}
