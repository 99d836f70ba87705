import { formatDuration, formatNumber } from "./format";

/** Flags a run's summary carries that only say something when true ("stopped": cancelled before run.steps). */
const FLAGS = new Set(["stopped"]);
const SECONDS = /(_s|\/seconds)$/;

export type SummaryFact = { key: string; label: string; value: string };

/** A number as a researcher reads it: whole numbers grouped, fractions to 3 decimals, large ones to fewer. */
export function readableNumber(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return formatNumber(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(1);
  return formatNumber(v);
}

/** Seconds as "1.5 s" under a minute, else "21m 05s". */
export function readableSeconds(v: number): string {
  return Math.abs(v) < 60 ? `${Number(v.toFixed(1))} s` : formatDuration(v * 1000);
}

/**
 * The summary's plain values as label/value pairs: booleans as yes/no (a flag such as `stopped` only when true),
 * times in seconds as durations, numbers rounded; nested values (the last metrics) are left to the charts.
 */
export function summaryFacts(summary: Record<string, unknown>): SummaryFact[] {
  const facts: SummaryFact[] = [];
  for (const [key, v] of Object.entries(summary)) {
    if (v === null || typeof v === "object") continue;
    if (typeof v === "boolean") {
      if (!v && FLAGS.has(key)) continue;
      facts.push({ key, label: key, value: v ? "yes" : "no" });
    } else if (typeof v === "number" && SECONDS.test(key)) {
      facts.push({ key, label: `${key.replace(SECONDS, "")} time`, value: readableSeconds(v) });
    } else {
      facts.push({ key, label: key, value: typeof v === "number" ? readableNumber(v) : String(v) });
    }
  }
  return facts;
}
