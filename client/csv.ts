import { stringify } from 'csv-stringify/sync';

// CSV for people who open it in a spreadsheet: RFC 4180 with a header row and CRLF. Names, job
// titles and reasons come from outside systems, so a cell a spreadsheet would run as a formula
// (starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe and is shown as
// the text it is.
const FORMULA_START = /^[=+\-@\t\r]/;

export function spreadsheetCsv<C extends string>(records: Record<C, string>[], columns: readonly C[]): string {
  return stringify(records, {
    header: true,
    columns: [...columns],
    record_delimiter: 'windows',
    cast: { string: (value) => (FORMULA_START.test(value) ? `'${value}` : value) },
  });
}
