import { describe, expect, inject, it } from 'vitest';
import { formatReport, runChaos } from '../bench/chaos';

// `npm run chaos`, smaller: 12 people through the bridge while the LMS fails ~30% of calls, the
// LLM hangs, the worker process is SIGKILLed once and the Temporal server (file-backed, a stack
// of its own) is down for 25 s. Once the faults are cleared, nothing may be duplicated, lost or stuck.

describe('chaos', () => {
  it('12 people, LMS and LLM faults, a worker SIGKILL and a Temporal restart: 0 duplicated, 0 lost, 0 stuck', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      people: 12,
      workerKills: 1,
      serverRestarts: 1,
      convergeTimeoutMs: 60_000,
      workflowBundlePath: inject('workflowBundlePath'),
      log: (line) => lines.push(line),
    });
    console.log(`${lines.join('\n')}\n${formatReport(report)}`);

    expect(report.findings).toEqual([]);
    expect({ duplicates: report.duplicates, lost: report.lost, stuck: report.stuck }).toEqual({ duplicates: 0, lost: 0, stuck: 0 });
    expect(report.events).toMatchObject({ sent: 16, accepted: 16, undelivered: 0 });
    expect(report.lmsAccountsMatching).toBe(12);
    // The faults really happened.
    expect(report.faults.workerKills).toBe(1);
    expect(report.faults.serverRestarts).toBe(1);
    expect(report.faults.lmsFaults['429']! + report.faults.lmsFaults['503']!).toBeGreaterThan(0);
    expect(report.faults.llmTimeouts).toBeGreaterThan(0);
  }, 180_000);
});
