// Calendar arithmetic on ISO dates (YYYY-MM-DD), in UTC so it is the same everywhere, workflows included.

export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function addMonths(isoDate: string, months: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

export function laterOf(a: string, b: string): string {
  return a >= b ? a : b;
}

export function isoDateOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * The instant a day or a moment begins: a date (YYYY-MM-DD) is its midnight UTC, an ISO
 * date-time is itself. Separations may carry either ("effective 2026-12-01", or "at 14:00 today").
 */
export function instantOf(dateOrDateTime: string): number {
  return Date.parse(dateOrDateTime.length === 10 ? `${dateOrDateTime}T00:00:00Z` : dateOrDateTime);
}

export function isBefore(a: string, b: string): boolean {
  return instantOf(a) < instantOf(b);
}
