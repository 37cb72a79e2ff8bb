import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../workers/worker';

// `hrsync replay`: runs recorded histories against today's workflow code with the SDK's replayer.
// A history that no longer replays means the code changed in a way that would break workflows
// already running: the change must go behind patched() (see workflows/onboarding.ts).

export interface ReplayOutcome {
  /** The file or the workflow id the history came from. */
  source: string;
  workflowId: string;
  workflowType: string | null;
  ok: boolean;
  /** What went wrong: a determinism failure names the event where code and history part. */
  problem: string | null;
  kind: 'nondeterminism' | 'replay-error' | null;
  eventId: number | null;
}

type History = temporal.api.history.v1.IHistory;

export interface HistorySource {
  source: string;
  workflowId: string;
  history: History;
}

/** A history exported by `temporal workflow show -o json` (or the replay test's golden files). */
export function historyFromFile(path: string): HistorySource {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not a history JSON file: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || !Array.isArray((json as { events?: unknown }).events)) {
    throw new Error(`${path} has no "events" array; export one with: temporal workflow show -w ID -o json > ${basename(path)}`);
  }
  // Golden files are named <workflowType>--<workflowId>.json; anything else: the file name.
  const name = basename(path, '.json');
  return { source: path, workflowId: name.includes('--') ? name.slice(name.indexOf('--') + 2) : name, history: historyFromJSON(json) };
}

/** Every .json history under `dir`, folders included (one folder per recorded version of the code). */
export function historiesInDirectory(dir: string): HistorySource[] {
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
  if (!files.length) throw new Error(`${dir} holds no .json histories`);
  return files.map((f) => historyFromFile(join(dir, f)));
}

export async function historyFromWorkflow(temporalClient: Client, workflowId: string): Promise<HistorySource> {
  return { source: workflowId, workflowId, history: await temporalClient.workflow.getHandle(workflowId).fetchHistory() };
}

function workflowTypeOf(history: History): string | null {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? null;
}

/** Replays every history against the workflows (bundled from source unless a bundle is given). */
export async function replay(sources: HistorySource[], options: { workflowBundlePath?: string; workflowsPath?: string } = {}): Promise<ReplayOutcome[]> {
  const bundle = options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : { workflowsPath: options.workflowsPath ?? WORKFLOWS_PATH };
  // The same workflow id may be recorded in several versions: replay under distinct ids.
  const histories = sources.map((h, i) => ({ ...h, workflowId: `${h.workflowId}#${i}` }));
  const bySource = new Map(histories.map((h) => [h.workflowId, h]));
  const outcomes: ReplayOutcome[] = [];
  const results = Worker.runReplayHistories(
    { ...bundle, replayName: 'hrsync-replay' },
    histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
  );
  for await (const result of results) {
    const h = bySource.get(result.workflowId)!;
    const error = result.error;
    const message = error ? error.message : null;
    outcomes.push({
      source: h.source,
      workflowId: result.workflowId.replace(/#\d+$/, ''),
      workflowType: workflowTypeOf(h.history),
      ok: !error,
      problem: message,
      kind: !error ? null : error.name === 'DeterminismViolationError' ? 'nondeterminism' : 'replay-error',
      // Core says where code and history part: "HistoryEvent(id: 5, ActivityTaskScheduled)".
      eventId: message ? Number(/(?:HistoryEvent\(id: |event (?:id )?)(\d+)/i.exec(message)?.[1] ?? NaN) || null : null,
    });
  }
  return outcomes;
}
