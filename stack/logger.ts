import pino from 'pino';

// Structured JSON logs. Log ids (employee, event, workflow), never names, emails or bodies.
export const logger = pino({
  name: 'hrsync',
  level: process.env.LOG_LEVEL ?? 'info',
  redact: { paths: ['*.firstName', '*.lastName', '*.email', '*.raw', 'headers.authorization'], censor: '[redacted]' },
});
export type Logger = typeof logger;
