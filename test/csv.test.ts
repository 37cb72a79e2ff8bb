import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { spreadsheetCsv } from '../client/csv';

describe('CSV for spreadsheets', () => {
  it('shows a cell that a spreadsheet would run as a formula as text, and leaves the rest alone', () => {
    const hostile = ['=HYPERLINK("http://x.example","click")', '+1+2', '-2+3', '@SUM(A1)', '\tindent', 'Anne-Marie', 'O\'Neil, "Jo"', '2026-11-22', ''];
    const csv = spreadsheetCsv(hostile.map((name) => ({ name })), ['name']);
    expect(csv.startsWith('name\r\n')).toBe(true);
    const back = (parse(csv, { columns: true }) as { name: string }[]).map((r) => r.name);
    expect(back).toEqual(["'=HYPERLINK(\"http://x.example\",\"click\")", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tindent", 'Anne-Marie', 'O\'Neil, "Jo"', '2026-11-22', '']);
  });
});
