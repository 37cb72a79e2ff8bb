import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_SECONDS, SIGNATURE_HEADER, signEvent, TIMESTAMP_HEADER, verifyEventSignature } from '../client/signing';

// POST /events signatures (SPEC §8): sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">, 5-minute window.

const SECRET = 'test-webhook-secret';
const BODY = JSON.stringify({ id: 'evt-1', type: 'hire', employee: { id: 'E1001' } });
const T = 1_795_000_000; // unix seconds
const NOW_MS = T * 1000;

function headersFor(secret = SECRET, body = BODY, timestamp = T) {
  const h = signEvent(secret, body, timestamp);
  return { ts: h[TIMESTAMP_HEADER], sig: h[SIGNATURE_HEADER] };
}

/** The two header values, in verifyEventSignature's argument order. */
function signedPair(secret = SECRET, body = BODY, timestamp = T): [string, string] {
  const { ts, sig } = headersFor(secret, body, timestamp);
  return [ts, sig];
}

describe('signEvent', () => {
  it('produces the documented headers: unix seconds and sha256=<hex HMAC of "<ts>.<body>">', () => {
    const { ts, sig } = headersFor();
    expect(ts).toBe(String(T));
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(sig).toBe(`sha256=${expected}`);
    expect(REPLAY_WINDOW_SECONDS).toBe(300);
  });

  it('defaults the timestamp to now', () => {
    const before = Math.floor(Date.now() / 1000);
    const ts = Number(signEvent(SECRET, BODY)[TIMESTAMP_HEADER]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });
});

describe('verifyEventSignature accepts', () => {
  it.each([
    ['signed now', 0],
    ['signed 299 s ago', -299],
    ['signed exactly 300 s ago', -300],
    ['signed 120 s in the future (clock skew)', 120],
    ['signed exactly 300 s in the future', 300],
  ])('%s', (_name, offset) => {
    const { ts, sig } = headersFor(SECRET, BODY, T + offset);
    expect(verifyEventSignature(SECRET, BODY, ts, sig, NOW_MS)).toEqual({ ok: true });
  });

  it('with the default clock', () => {
    const h = signEvent(SECRET, BODY);
    expect(verifyEventSignature(SECRET, BODY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER])).toEqual({ ok: true });
  });

  it('an empty body and a body with unicode', () => {
    for (const body of ['', '{"name":"Zoë Ødegård — 東京"}']) {
      const { ts, sig } = headersFor(SECRET, body);
      expect(verifyEventSignature(SECRET, body, ts, sig, NOW_MS)).toEqual({ ok: true });
    }
  });
});

describe('verifyEventSignature rejects, with a reason', () => {
  const good = headersFor();
  const hex = good.sig.slice('sha256='.length);
  const otherTs = headersFor(SECRET, BODY, T - 10);

  it.each<[string, [string, string, string | undefined, string | undefined, number], RegExp]>([
    ['the wrong secret', [SECRET, BODY, ...signedPair('another-secret'), NOW_MS], /does not match/],
    ['a secret differing in case', ['TEST-WEBHOOK-SECRET', BODY, good.ts, good.sig, NOW_MS], /does not match/],
    ['a tampered body', [SECRET, BODY.replace('E1001', 'E1002'), good.ts, good.sig, NOW_MS], /does not match/],
    ['a body with one extra space', [SECRET, `${BODY} `, good.ts, good.sig, NOW_MS], /does not match/],
    ['a re-parsed and re-serialised body', [SECRET, JSON.stringify(JSON.parse(BODY), null, 2), good.ts, good.sig, NOW_MS], /does not match/],
    ['a timestamp swapped for another valid one', [SECRET, BODY, otherTs.ts, good.sig, NOW_MS], /does not match/],
    ['one flipped hex digit', [SECRET, BODY, good.ts, `sha256=${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`, NOW_MS], /does not match/],
    ['a stale timestamp (301 s old)', [SECRET, BODY, ...signedPair(SECRET, BODY, T - 301), NOW_MS], /stale/],
    ['a stale timestamp (an hour old)', [SECRET, BODY, ...signedPair(SECRET, BODY, T - 3600), NOW_MS], /stale/],
    ['a timestamp 301 s in the future', [SECRET, BODY, ...signedPair(SECRET, BODY, T + 301), NOW_MS], /stale/],
    ['a timestamp in milliseconds', [SECRET, BODY, ...signedPair(SECRET, BODY, NOW_MS), NOW_MS], /stale/],
    ['a missing timestamp header', [SECRET, BODY, undefined, good.sig, NOW_MS], /missing/],
    ['a missing signature header', [SECRET, BODY, good.ts, undefined, NOW_MS], /missing/],
    ['both headers missing', [SECRET, BODY, undefined, undefined, NOW_MS], /missing/],
    ['an empty timestamp header', [SECRET, BODY, '', good.sig, NOW_MS], /missing/],
    ['an empty signature header', [SECRET, BODY, good.ts, '', NOW_MS], /missing/],
    ['a timestamp that is not a number', [SECRET, BODY, 'yesterday', good.sig, NOW_MS], /not unix seconds/],
    ['an ISO date-time timestamp', [SECRET, BODY, new Date(NOW_MS).toISOString(), good.sig, NOW_MS], /not unix seconds/],
    ['a negative timestamp', [SECRET, BODY, `-${T}`, good.sig, NOW_MS], /not unix seconds/],
    ['a fractional timestamp', [SECRET, BODY, `${T}.5`, good.sig, NOW_MS], /not unix seconds/],
    ['a signature without the sha256= prefix', [SECRET, BODY, good.ts, hex, NOW_MS], /not of the form/],
    ['another algorithm', [SECRET, BODY, good.ts, `sha1=${hex}`, NOW_MS], /not of the form/],
    ['a short digest', [SECRET, BODY, good.ts, `sha256=${hex.slice(2)}`, NOW_MS], /not of the form/],
    ['a long digest', [SECRET, BODY, good.ts, `sha256=${hex}00`, NOW_MS], /not of the form/],
    ['non-hex characters', [SECRET, BODY, good.ts, `sha256=${'z'.repeat(64)}`, NOW_MS], /not of the form/],
    ['a base64 digest', [SECRET, BODY, good.ts, `sha256=${Buffer.from(hex, 'hex').toString('base64')}`, NOW_MS], /not of the form/],
    ['two signatures in one header', [SECRET, BODY, good.ts, `${good.sig},${good.sig}`, NOW_MS], /not of the form/],
  ])('%s', (_name, args, reason) => {
    const result = verifyEventSignature(...args);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });
});
