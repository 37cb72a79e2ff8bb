// The load generator of the intake benchmark, run as its own process (so its CPU is not the
// bridge's): signed hire events posted to POST /events with a bounded number in flight for a
// fixed time. Prints one JSON line: { sent, accepted, failed, seconds, latenciesMs: [p50, p99] }.
//
//   tsx bench/intake-load.ts <bridge url> <secret> <seconds> <concurrency> <id prefix>
import { signEvent } from '../client/signing';
import { isoDateOf } from '../domain/dates';
import { employeeProfile, hireEvent, SAMPLE_HIRES } from '../simulators/roster';

const [url, secret, seconds = '10', concurrency = '16', prefix = 'IN'] = process.argv.slice(2);
if (!url || !secret) throw new Error('usage: tsx bench/intake-load.ts <bridge url> <secret> <seconds> <concurrency> <id prefix>');

const until = Date.now() + Number(seconds) * 1000;
const today = isoDateOf(new Date());
const latencies: number[] = [];
let sent = 0;
let accepted = 0;
let failed = 0;

async function client() {
  while (Date.now() < until) {
    const n = sent++;
    const body = JSON.stringify(hireEvent(employeeProfile(n, SAMPLE_HIRES[n % SAMPLE_HIRES.length]!, today, prefix), `evt-${prefix}-${n}`));
    const t0 = performance.now();
    const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...signEvent(secret!, body) }, body }).catch(() => null);
    await res?.arrayBuffer();
    latencies.push(performance.now() - t0);
    if (res?.status === 202) accepted++;
    else failed++;
  }
}

const started = Date.now();
await Promise.all(Array.from({ length: Number(concurrency) }, client));
const took = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1));
process.stdout.write(`${JSON.stringify({ sent, accepted, failed, seconds: took, latenciesMs: [at(0.5), at(0.99)] })}\n`);
