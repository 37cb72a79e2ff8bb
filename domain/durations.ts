// Durations as people write them in configuration: "90s", "15m", "4h", "2d".

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

export function durationMs(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration like 90s, 15m, 4h or 2d`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}
