import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normaliseCode } from '../domain/job-matching';
import { loadOrganisation, SAMPLE_ORGANISATION_PATH } from '../domain/load-organisation';
import { EVAL_HEADER, NONE, readEvalSet } from '../eval/job-titles';

// The labelled job-title set behind `npm run eval:mapper` is well formed: read by the script's
// own reader with nothing skipped, big enough, covering every job code, mostly rows whose HRIS
// job code the code table cannot know, and free of personal data.

const CSV_PATH = fileURLToPath(new URL('../eval/job-titles.csv', import.meta.url));
const org = loadOrganisation(SAMPLE_ORGANISATION_PATH);
const orgCodes = org.jobCodes.map((j) => j.code);
const normalisedOrgCodes = new Set(orgCodes.map(normaliseCode));
const { rows, skipped } = readEvalSet(CSV_PATH, org);

describe('eval/job-titles.csv', () => {
  it('has exactly the specified header', () => {
    expect(readFileSync(CSV_PATH, 'utf8').split('\n')[0]!.trim()).toBe(EVAL_HEADER.join(','));
  });

  it('has at least 170 rows and the reader skips none', () => {
    expect(skipped).toEqual([]);
    expect(rows.length).toBeGreaterThanOrEqual(170);
  });

  it('expects only organisation job codes or NONE, with some NONE', () => {
    expect(rows.filter((r) => r.expected !== NONE && !orgCodes.includes(r.expected))).toEqual([]);
    expect(rows.filter((r) => r.expected === NONE).length).toBeGreaterThanOrEqual(8);
  });

  it('covers every organisation job code with at least six rows', () => {
    const thin = orgCodes.filter((c) => rows.filter((r) => r.expected === c).length < 6);
    expect(thin).toEqual([]);
  });

  it('mostly sends a job code the code table does not know, and some org codes in other formats', () => {
    expect(rows.filter((r) => !r.orgCodeGiven).length).toBeGreaterThanOrEqual(120);
    const orgCodeRows = rows.filter((r) => r.orgCodeGiven);
    expect(orgCodeRows.length).toBeGreaterThanOrEqual(10);
    // Those exercise normalisation: none is sent verbatim, and each names the job it is expected to be.
    for (const r of orgCodeRows) {
      expect(orgCodes, `line ${r.line}: "${r.input.jobCode}" is verbatim`).not.toContain(r.input.jobCode);
      expect(normalisedOrgCodes.has(normaliseCode(r.input.jobCode!))).toBe(true);
      expect(normaliseCode(r.input.jobCode!), `line ${r.line}`).toBe(normaliseCode(r.expected));
    }
  });

  it('contains no personal data: no @ anywhere, no run of five or more digits in a title', () => {
    expect(readFileSync(CSV_PATH, 'utf8')).not.toContain('@');
    expect(rows.filter((r) => /\d{5,}/.test(r.input.jobTitle)).map((r) => r.line)).toEqual([]);
  });
});
