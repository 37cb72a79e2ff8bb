import type pg from 'pg';

// The bridge's own tables: every accepted event once (the redelivery check) and every rejected
// delivery with its raw body (the dead-letter table), so no input is ever lost.

export interface DeadLetter {
  source: string;
  endpoint: string;
  status: number;
  reason: string;
  detail?: unknown;
  headers: Record<string, unknown>;
  rawBody: string;
}

const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export function keepableHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, SECRET_HEADERS.has(k.toLowerCase()) ? '[redacted]' : v]));
}

export async function recordDeadLetter(pool: pg.Pool, letter: DeadLetter): Promise<number> {
  const res = await pool.query(
    `INSERT INTO dead_letters (source, endpoint, status, reason, detail, headers, raw_body) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [letter.source, letter.endpoint, letter.status, letter.reason, letter.detail === undefined ? null : JSON.stringify(letter.detail), JSON.stringify(keepableHeaders(letter.headers)), letter.rawBody],
  );
  return Number(res.rows[0].id);
}
