import { parseTime } from "./format";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A compact time for a table cell: "just now", "12 min ago", "3 h ago", "2 d ago"; a week or more back (or ahead,
 * a skewed clock) the date, "Nov 12", with the year when it is not this year's. The exact time goes in a title.
 */
export function relativeTime(
  s: string | null | undefined,
  now = Date.now(),
  opts: { locale?: string; timeZone?: string } = {},
): string {
  const t = parseTime(s);
  if (t === null) return "—";
  const ago = now - t;
  if (ago > -MINUTE && ago < MINUTE) return "just now";
  if (ago > 0 && ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
  if (ago > 0 && ago < DAY) return `${Math.floor(ago / HOUR)} h ago`;
  if (ago > 0 && ago < 7 * DAY) return `${Math.floor(ago / DAY)} d ago`;
  const { locale, timeZone } = opts;
  const year = (ms: number) => new Intl.DateTimeFormat("en-US", { year: "numeric", timeZone }).format(ms);
  return new Intl.DateTimeFormat(locale, {
    month: "short",
    day: "numeric",
    year: year(t) === year(now) ? undefined : "numeric",
    timeZone,
  }).format(t);
}
