import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { MappingInput } from '../domain/ai';
import { describeInvalid } from '../domain/hr-event';
import { normaliseCode } from '../domain/job-matching';
import type { Organisation } from '../domain/organisation';

// The labelled job-title set (eval/job-titles.csv): read, checked row by row, a bad row reported
// with its line and skipped. Shared by `npm run eval:mapper` and its test.

export const EVAL_HEADER = ['job_title', 'job_code', 'department', 'site', 'employment_type', 'expected_job_code', 'note'] as const;
export const NONE = 'NONE';


export interface EvalRow {
  line: number;
  input: MappingInput;
  expected: string;
  /** The HRIS job code names an organisation job code (in any case or format). */
  orgCodeGiven: boolean;
  note: string;
}

export interface Skipped {
  line: number;
  reason: string;
}

export class EvalFileError extends Error {}

/** The CSV column each MappingInput field comes from, for messages about a bad row. */
const COLUMN_OF_FIELD: Record<string, string> = {
  jobTitle: 'job_title',
  jobCode: 'job_code',
  department: 'department',
  site: 'site',
  employmentType: 'employment_type',
};

export function readEvalSet(path: string, org: Organisation): { rows: EvalRow[]; skipped: Skipped[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EvalFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // `info` gives each record's line; `relax_column_count` lets a short or long row be reported and skipped.
    records = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (err) {
    throw new EvalFileError(`cannot parse ${path} as CSV: ${(err as Error).message}`);
  }
  const [head, ...body] = records;
  if (!head) throw new EvalFileError(`${path} is empty; expected the header ${EVAL_HEADER.join(',')}`);
  if (head.record.length !== EVAL_HEADER.length || head.record.some((h, i) => h.trim() !== EVAL_HEADER[i])) {
    throw new EvalFileError(`${path} has the header ${head.record.join(',')}; expected ${EVAL_HEADER.join(',')}`);
  }

  const orgCodes = new Set(org.jobCodes.map((j) => j.code));
  const normalisedOrgCodes = new Set(org.jobCodes.map((j) => normaliseCode(j.code)));
  const rows: EvalRow[] = [];
  const skipped: Skipped[] = [];
  for (const { record, info } of body) {
    // csv-parse counts the line a record ends on; a quoted field may span several.
    const line = info.lines - record.reduce((n, field) => n + (field.match(/\n/g)?.length ?? 0), 0);
    const skip = (reason: string) => skipped.push({ line, reason });
    if (record.length !== EVAL_HEADER.length) {
      skip(`has ${record.length} field${record.length === 1 ? '' : 's'}, expected ${EVAL_HEADER.length}`);
      continue;
    }
    const [jobTitle, jobCode, department, site, employmentType, expectedRaw, note] = record.map((f) => f.trim()) as [string, string, string, string, string, string, string];
    const expected = expectedRaw.toUpperCase() === NONE ? NONE : expectedRaw;
    if (!expected) {
      skip('expected_job_code is empty (use NONE when no job fits)');
      continue;
    }
    if (expected !== NONE && !orgCodes.has(expected)) {
      skip(`expected_job_code "${expected}" is not one of the organisation's job codes (nor NONE)`);
      continue;
    }
    const parsed = MappingInput.safeParse({
      jobTitle,
      jobCode: jobCode || null,
      department: department || null,
      site: site || null,
      employmentType: employmentType || null,
    });
    if (!parsed.success) {
      const { issues } = describeInvalid(parsed.error);
      skip(issues.map((i) => `${COLUMN_OF_FIELD[i.field] ?? i.field}: ${i.message}`).join('; '));
      continue;
    }
    rows.push({ line, input: parsed.data, expected, orgCodeGiven: !!jobCode && normalisedOrgCodes.has(normaliseCode(jobCode)), note });
  }
  return { rows, skipped };
}
