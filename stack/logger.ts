import pino from 'pino';

// Structured JSON logs. Log ids (employee, event, workflow), never names, emails or bodies.
// Logs go to stderr so that command output on stdout stays clean.
export const logger = pino(
  {
    name: 'hrsync',
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths: ['*.firstName', '*.lastName', '*.email', '*.raw', 'headers.authorization'], censor: '[redacted]' },
  },
  pino.destination(2),
);
export type Logger = typeof logger;
