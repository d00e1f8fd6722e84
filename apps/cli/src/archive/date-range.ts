import { InvalidArgumentError } from 'commander';

/** A date given on the command line, as the UTC interval it names: `[start, end)` in epoch ms. */
export interface DateArgument {
  readonly start: number;
  readonly end: number;
}

const datePattern = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/**
 * Reads `2026`, `2026-01`, `2026-01-31` (UTC, the whole year/month/day) or an ISO 8601 time with a
 * zone (`2026-01-31T09:30:00Z`, that instant). A commander argument parser.
 */
export function parseDateArgument(value: string): DateArgument {
  const match = datePattern.exec(value);
  if (match !== null) {
    const year = Number(match[1]);
    const month = match[2] === undefined ? undefined : Number(match[2]) - 1;
    const day = match[3] === undefined ? undefined : Number(match[3]);
    if (month !== undefined && (month < 0 || month > 11)) throw new InvalidArgumentError('the month must be 01 to 12.');
    if (month === undefined) return { start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1) };
    if (day === undefined) return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
    const start = Date.UTC(year, month, day);
    if (new Date(start).getUTCDate() !== day) throw new InvalidArgumentError('that day does not exist.');
    return { start, end: Date.UTC(year, month, day + 1) };
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const time = Date.parse(value);
    if (Number.isFinite(time)) return { start: time, end: time + 1 };
  }
  throw new InvalidArgumentError('use a UTC date (2026-01-31, 2026-01 or 2026) or an ISO time with a zone (2026-01-31T09:30:00Z).');
}
