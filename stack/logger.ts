import pino from 'pino';
import type { LogLevel } from '@temporalio/common';
import type { LogEntry } from '@temporalio/worker';

// Structured JSON logs. Log ids (employee, event, workflow), never names, emails or bodies.
// Logs go to stderr so that command output on stdout stays clean.
export const logger = pino(
  {
    name: 'hrsync',
    level: process.env.LOG_LEVEL ?? 'info',
    redact: {
      paths: ['firstName', 'lastName', 'email', 'rawBody', '*.firstName', '*.lastName', '*.email', '*.raw', '*.rawBody', 'headers.authorization', 'headers.cookie'],
      censor: '[redacted]',
    },
  },
  pino.destination(2),
);
export type Logger = typeof logger;

// The Temporal SDK's own logs (worker state, activity and workflow task failures, Core) as the same
// JSON lines. Failure messages can quote what a vendor answered (callVendor keeps 300 characters of
// it), so e-mail addresses are masked in them.
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const mask = (text: unknown) => (typeof text === 'string' ? text.replace(EMAIL, '[email]') : text);

function maskedError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return mask(error);
  const { name, message, stack } = error;
  const cause = (error as { cause?: unknown }).cause;
  const type = (error as { type?: unknown }).type; // an ApplicationFailure's type, e.g. VendorRateLimited
  return { name, ...(typeof type === 'string' ? { type } : {}), message: mask(message), stack: mask(stack), ...(cause && depth < 5 ? { cause: maskedError(cause, depth + 1) } : {}) };
}

const PINO_METHOD = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** The SDK level matching LOG_LEVEL, so the SDK does not build entries pino would drop. */
export function temporalLogLevel(level = logger.level): LogLevel {
  if (level === 'trace') return 'TRACE';
  if (level === 'debug') return 'DEBUG';
  if (level === 'info') return 'INFO';
  if (level === 'warn') return 'WARN';
  return 'ERROR';
}

/** For `new DefaultLogger(level, temporalLogFunction())`: each SDK log entry becomes one pino line. */
export function temporalLogFunction(base: Logger = logger): (entry: LogEntry) => void {
  const sdk = base.child({ component: 'temporal-sdk' });
  return ({ level, message, meta }) => {
    const { error, err, ...fields } = (meta ?? {}) as Record<string, unknown>;
    if (error !== undefined || err !== undefined) fields.error = maskedError(error ?? err);
    sdk[PINO_METHOD[level] ?? 'info'](fields, mask(message) as string);
  };
}
