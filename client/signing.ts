import { createHmac, timingSafeEqual } from 'node:crypto';

// POST /events signatures (SPEC §8): X-Hrsync-Signature = sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">.

export const SIGNATURE_HEADER = 'x-hrsync-signature';
export const TIMESTAMP_HEADER = 'x-hrsync-timestamp';
export const REPLAY_WINDOW_SECONDS = 300;

export function signEvent(secret: string, rawBody: string, timestamp = Math.floor(Date.now() / 1000)) {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `sha256=${digest}` };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifyEventSignature(
  secret: string,
  rawBody: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  now = Date.now(),
): SignatureCheck {
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: 'missing X-Hrsync-Timestamp or X-Hrsync-Signature' };
  if (!/^\d+$/.test(timestampHeader)) return { ok: false, reason: 'X-Hrsync-Timestamp is not unix seconds' };
  const age = Math.abs(now / 1000 - Number(timestampHeader));
  if (age > REPLAY_WINDOW_SECONDS) return { ok: false, reason: `stale timestamp (${Math.round(age)} s old; the window is ${REPLAY_WINDOW_SECONDS} s)` };
  const match = /^sha256=([0-9a-f]{64})$/i.exec(signatureHeader);
  if (!match) return { ok: false, reason: 'X-Hrsync-Signature is not of the form sha256=<hex>' };
  const expected = createHmac('sha256', secret).update(`${timestampHeader}.${rawBody}`).digest();
  const given = Buffer.from(match[1]!, 'hex');
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'signature does not match' };
}
