import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { catalogProblems, JobMappingAnswer, MappingInput } from '../domain/ai';
import { describeInvalid } from '../domain/hr-event';
import { mapJobDeterministically } from '../domain/job-matching';
import { EvalFileError, NONE, readEvalSet, type EvalRow } from './job-titles';
import { loadOrganisation } from '../domain/load-organisation';
import type { Organisation } from '../domain/organisation';

// Measures the job mapper against a labelled set of messy HRIS job titles (eval/job-titles.csv):
// accuracy, coverage, how well its confidence is calibrated, per-code results and the most
// frequent confusions. It measures; it does not gate: exit 0 after printing whatever the numbers,
// 1 when the file cannot be read, 2 on a usage error or when the LLM path is unavailable.
//
//   npm run eval:mapper                          the deterministic mapper, as a report
//   npm run eval:mapper -- --json                the same figures as one JSON document
//   npm run eval:mapper -- --mapper llm          also the LLM (OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL)
//   npm run eval:mapper -- --file other.csv      another set with the same header
//
// The organisation is HRSYNC_CONFIG or the bundled sample, as everywhere else.

/** A mapper that threw or answered outside the schema: never counted as correct. */
const ERROR = 'ERROR';
const DEFAULT_THRESHOLD = 0.75;
const TOP_CONFUSIONS = 15;
const DEFAULT_FILE = fileURLToPath(new URL('./job-titles.csv', import.meta.url));

const USAGE = `usage: npm run eval:mapper -- [--json] [--mapper deterministic|llm] [--file <csv>] [--concurrency <n>]`;

interface Prediction {
  /** An organisation job code, NONE (the mapper answered null) or ERROR. */
  predicted: string;
  confidence: number;
  error?: string;
  offCatalog?: boolean;
}

type Predict = (input: MappingInput) => Promise<Prediction>;

/** Turns a mapper's answer into a prediction, checking it against the schema and the catalog. */
function predictionFrom(raw: unknown, org: Organisation): Prediction {
  const answer = JobMappingAnswer.safeParse(raw);
  if (!answer.success) return { predicted: ERROR, confidence: 0, error: `answer outside the schema: ${describeInvalid(answer.error).message}` };
  const problems = catalogProblems(answer.data, org);
  return { predicted: answer.data.jobCode ?? NONE, confidence: answer.data.confidence, offCatalog: problems.length > 0 };
}

const ratio = (n: number, d: number) => (d === 0 ? null : n / d);

interface Tally {
  rows: number;
  correct: number;
  accuracy: number | null;
}
const tally = (results: { correct: boolean }[]): Tally => {
  const correct = results.filter((r) => r.correct).length;
  return { rows: results.length, correct, accuracy: ratio(correct, results.length) };
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

interface MapperReport {
  mapper: 'deterministic' | 'llm';
  model: string | null;
  rows: number;
  correct: number;
  accuracy: number | null;
  /** Rows whose HRIS job_code is empty or not an organisation code: the title had to be mapped. */
  titleOnly: Tally;
  /** Rows whose HRIS job_code is an organisation code in some case or format. */
  orgCodeGiven: Tally;
  answered: number;
  /** Share of rows answered with a job code (not NONE, not an error). */
  coverage: number | null;
  accuracyWhenAnswered: number | null;
  confidence: {
    threshold: number;
    thresholdSource: 'organisation' | 'default';
    atOrAbove: Tally & { share: number | null };
    below: Tally & { share: number | null };
    meanWhenCorrect: number | null;
    meanWhenWrong: number | null;
  };
  errors: number;
  offCatalog: number;
  perCode: { code: string; title: string; support: number; correct: number; accuracy: number | null; predicted: number; precision: number | null }[];
  confusions: { expected: string; predicted: string; count: number; example: { line: number; jobTitle: string; department: string | null; site: string | null } }[];
  errorExamples: { line: number; error: string }[];
  elapsedMs: number;
}

async function evaluate(
  mapper: MapperReport['mapper'],
  model: string | null,
  rows: EvalRow[],
  predict: Predict,
  org: Organisation,
  threshold: { value: number; source: 'organisation' | 'default' },
  concurrency: number,
): Promise<MapperReport> {
  const started = Date.now();
  const predictions: Prediction[] = new Array(rows.length);
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const i = next++;
      try {
        predictions[i] = await predict(rows[i]!.input);
      } catch (err) {
        predictions[i] = { predicted: ERROR, confidence: 0, error: (err as Error).message || String(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, rows.length)) }, worker));

  const results = rows.map((row, i) => {
    const p = predictions[i]!;
    return { row, ...p, correct: p.predicted === row.expected };
  });
  const answered = results.filter((r) => r.predicted !== NONE && r.predicted !== ERROR);
  const high = results.filter((r) => r.confidence >= threshold.value);
  const low = results.filter((r) => r.confidence < threshold.value);
  const all = tally(results);

  const codes = [...org.jobCodes.map((j) => ({ code: j.code, title: j.title })), { code: NONE, title: '(no job fits)' }];
  const perCode = codes.map(({ code, title }) => {
    const support = results.filter((r) => r.row.expected === code);
    const predicted = results.filter((r) => r.predicted === code);
    const t = tally(support);
    return {
      code,
      title,
      support: t.rows,
      correct: t.correct,
      accuracy: t.accuracy,
      predicted: predicted.length,
      precision: ratio(predicted.filter((r) => r.correct).length, predicted.length),
    };
  });

  const confusionMap = new Map<string, MapperReport['confusions'][number]>();
  for (const r of results) {
    if (r.correct) continue;
    const key = `${r.row.expected}\u0000${r.predicted}`;
    const entry = confusionMap.get(key);
    if (entry) entry.count++;
    else
      confusionMap.set(key, {
        expected: r.row.expected,
        predicted: r.predicted,
        count: 1,
        example: { line: r.row.line, jobTitle: r.row.input.jobTitle, department: r.row.input.department ?? null, site: r.row.input.site ?? null },
      });
  }
  const confusions = [...confusionMap.values()]
    .sort((a, b) => b.count - a.count || a.expected.localeCompare(b.expected) || a.predicted.localeCompare(b.predicted))
    .slice(0, TOP_CONFUSIONS);

  const errored = results.filter((r) => r.error);
  return {
    mapper,
    model,
    rows: all.rows,
    correct: all.correct,
    accuracy: all.accuracy,
    titleOnly: tally(results.filter((r) => !r.row.orgCodeGiven)),
    orgCodeGiven: tally(results.filter((r) => r.row.orgCodeGiven)),
    answered: answered.length,
    coverage: ratio(answered.length, results.length),
    accuracyWhenAnswered: ratio(answered.filter((r) => r.correct).length, answered.length),
    confidence: {
      threshold: threshold.value,
      thresholdSource: threshold.source,
      atOrAbove: { ...tally(high), share: ratio(high.length, results.length) },
      below: { ...tally(low), share: ratio(low.length, results.length) },
      meanWhenCorrect: mean(results.filter((r) => r.correct).map((r) => r.confidence)),
      meanWhenWrong: mean(results.filter((r) => !r.correct).map((r) => r.confidence)),
    },
    errors: errored.length,
    offCatalog: results.filter((r) => r.offCatalog).length,
    perCode,
    confusions,
    errorExamples: errored.slice(0, 5).map((r) => ({ line: r.row.line, error: r.error! })),
    elapsedMs: Date.now() - started,
  };
}

// ---- the LLM path -------------------------------------------------------------------------------

type MapJobWithLlm = (input: MappingInput, org: Organisation, client: OpenAI, model: string) => Promise<unknown>;

class LlmUnavailable extends Error {}

async function loadLlmMapper(): Promise<{ mapJobWithLlm: MapJobWithLlm; defaultModel: string | null }> {
  let mod: Record<string, unknown>;
  try {
    mod = await import('../activities/ai');
  } catch (err) {
    throw new LlmUnavailable(`activities/ai.ts could not be loaded (${(err as Error).message.split('\n')[0]})`);
  }
  if (typeof mod.mapJobWithLlm !== 'function') throw new LlmUnavailable('activities/ai.ts does not export mapJobWithLlm');
  return { mapJobWithLlm: mod.mapJobWithLlm as MapJobWithLlm, defaultModel: typeof mod.DEFAULT_MODEL === 'string' ? mod.DEFAULT_MODEL : null };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** mapJobWithLlm answers `{ reply: { ok, value } | { ok: false, reason } }`; a bare answer is accepted too. */
function llmPrediction(result: unknown, org: Organisation): Prediction {
  if (isObject(result) && isObject(result.reply)) {
    const reply = result.reply;
    if (reply.ok === true) return predictionFrom(reply.value, org);
    return { predicted: ERROR, confidence: 0, error: typeof reply.reason === 'string' ? reply.reason : 'the LLM answer was refused' };
  }
  return predictionFrom(result, org);
}

// ---- output -------------------------------------------------------------------------------------

const pct = (x: number | null) => (x === null ? '   n/a' : `${(100 * x).toFixed(1).padStart(5)}%`);
const frac = (t: { correct: number; rows: number }) => `${String(t.correct).padStart(4)}/${String(t.rows).padEnd(4)}`;
const num = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));

function printReport(r: MapperReport, out: string[]) {
  const title = r.mapper === 'llm' ? `LLM mapper (activities/ai.ts mapJobWithLlm, model ${r.model})` : 'Deterministic mapper (domain/job-matching.ts)';
  const c = r.confidence;
  out.push(
    title,
    `  Rows                                        ${r.rows}`,
    `  Accuracy (exact match, NONE included)       ${frac(r)} ${pct(r.accuracy)}`,
    `    job_code empty or not an org code          ${frac(r.titleOnly)} ${pct(r.titleOnly.accuracy)}`,
    `    job_code an org code in another format     ${frac(r.orgCodeGiven)} ${pct(r.orgCodeGiven.accuracy)}`,
    `  Coverage (answered with a job code)         ${String(r.answered).padStart(4)}/${String(r.rows).padEnd(4)} ${pct(r.coverage)}`,
    `  Accuracy when answered with a job code                ${pct(r.accuracyWhenAnswered)}`,
    `  Confidence threshold                        ${c.threshold} (${c.thresholdSource === 'organisation' ? "organisation's ai.confidenceThreshold" : 'default; the organisation sets none'})`,
    `    at or above: share of rows ${pct(c.atOrAbove.share)}, accuracy ${frac(c.atOrAbove)} ${pct(c.atOrAbove.accuracy)}`,
    `    below:       share of rows ${pct(c.below.share)}, accuracy ${frac(c.below)} ${pct(c.below.accuracy)}`,
    `    mean confidence when correct ${num(c.meanWhenCorrect)}, when wrong ${num(c.meanWhenWrong)}`,
  );
  if (r.errors) out.push(`  Errors (threw or answered outside the schema): ${r.errors}`, ...r.errorExamples.map((e) => `    line ${e.line}: ${e.error}`));
  if (r.offCatalog) out.push(`  Answers naming something outside the catalog: ${r.offCatalog}`);

  out.push('', '  Per expected code');
  const w = Math.max(...r.perCode.map((p) => p.title.length), 5);
  out.push(`    ${'code'.padEnd(9)} ${'title'.padEnd(w)}  support  correct  accuracy  predicted  precision`);
  for (const p of r.perCode) {
    out.push(
      `    ${p.code.padEnd(9)} ${p.title.padEnd(w)}  ${String(p.support).padStart(7)}  ${String(p.correct).padStart(7)}  ${pct(p.accuracy).padStart(8)}  ${String(p.predicted).padStart(9)}  ${pct(p.precision).padStart(9)}`,
    );
  }

  out.push('', `  Most frequent errors (expected → predicted), top ${TOP_CONFUSIONS}`);
  if (!r.confusions.length) out.push('    none');
  for (const e of r.confusions) {
    const where = [e.example.department, e.example.site].filter(Boolean).join(' @ ');
    out.push(
      `    ${String(e.count).padStart(3)}  ${`${e.expected} → ${e.predicted}`.padEnd(22)} e.g. line ${e.example.line}: "${e.example.jobTitle}"${where ? ` (${where})` : ''}`,
    );
  }
  out.push(`  (${r.elapsedMs} ms)`);
}

// ---- main ---------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        mapper: { type: 'string', default: 'deterministic' },
        file: { type: 'string' },
        concurrency: { type: 'string', default: '4' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.mapper !== 'deterministic' && args.mapper !== 'llm') {
    console.error(`--mapper must be "deterministic" or "llm", not "${args.mapper}"\n${USAGE}`);
    return 2;
  }
  const concurrency = Number(args.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    console.error(`--concurrency must be a positive integer, not "${args.concurrency}"\n${USAGE}`);
    return 2;
  }

  // Check the LLM path first, so an unavailable one does not cost a full run.
  let llm: Awaited<ReturnType<typeof loadLlmMapper>> | null = null;
  if (args.mapper === 'llm') {
    try {
      llm = await loadLlmMapper();
    } catch (err) {
      if (!(err instanceof LlmUnavailable)) throw err;
      console.error(`The LLM path is unavailable: ${err.message}. Run without --mapper llm to measure the deterministic mapper.`);
      return 2;
    }
  }

  let org: Organisation;
  try {
    org = loadOrganisation();
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  const file = args.file ?? DEFAULT_FILE;
  const fromHere = relative(process.cwd(), file);
  const shownFile = fromHere && !fromHere.startsWith('..') ? fromHere : file;
  let set: ReturnType<typeof readEvalSet>;
  try {
    set = readEvalSet(file, org);
  } catch (err) {
    if (!(err instanceof EvalFileError)) throw err;
    console.error(err.message);
    return 1;
  }
  for (const s of set.skipped) console.error(`${shownFile}:${s.line}: ${s.reason}; row skipped`);

  const configured = (org as { ai?: { confidenceThreshold?: number } }).ai?.confidenceThreshold;
  const threshold = typeof configured === 'number' ? { value: configured, source: 'organisation' as const } : { value: DEFAULT_THRESHOLD, source: 'default' as const };

  const notices: string[] = [];
  const reports: MapperReport[] = [];
  reports.push(
    await evaluate('deterministic', null, set.rows, async (input) => predictionFrom(mapJobDeterministically(input, org), org), org, threshold, 1),
  );
  if (llm) {
    const apiKey = process.env.OPENAI_API_KEY;
    if (!apiKey) {
      notices.push('OPENAI_API_KEY is unset: the LLM path was not run (set OPENAI_API_KEY, and OPENAI_BASE_URL / OPENAI_MODEL as needed).');
    } else {
      const model = process.env.OPENAI_MODEL || llm.defaultModel || 'gpt-4o-mini';
      const client = new OpenAI({ apiKey, baseURL: process.env.OPENAI_BASE_URL || undefined, timeout: 60_000, maxRetries: 2 });
      if (!args.json) console.error(`Asking ${model}${process.env.OPENAI_BASE_URL ? ` at ${process.env.OPENAI_BASE_URL}` : ''} about ${set.rows.length} rows (${concurrency} at a time)…`);
      const { mapJobWithLlm } = llm;
      reports.push(
        await evaluate('llm', model, set.rows, async (input) => llmPrediction(await mapJobWithLlm(input, org, client, model), org), org, threshold, concurrency),
      );
    }
  }

  if (args.json) {
    const doc = {
      file: shownFile,
      organisation: org.name,
      jobCodes: org.jobCodes.length,
      rows: set.rows.length,
      skipped: set.skipped,
      threshold: threshold.value,
      thresholdSource: threshold.source,
      mappers: Object.fromEntries(reports.map((r) => [r.mapper, r])),
      notices,
    };
    console.log(JSON.stringify(doc, null, 2));
    return 0;
  }

  const out: string[] = [
    `Job mapper evaluation: ${shownFile} against ${org.name} (${org.jobCodes.length} job codes)`,
    `Total rows: ${set.rows.length} evaluated${set.skipped.length ? `, ${set.skipped.length} skipped (see above)` : ', none skipped'}`,
    '',
  ];
  reports.forEach((r, i) => {
    if (i) out.push('');
    printReport(r, out);
  });
  for (const n of notices) out.push('', n);
  console.log(out.join('\n'));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  },
);
