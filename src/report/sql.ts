import { OUTCOMES, type Outcome } from '../results/outcome.js';
import type { OutcomeCounts } from './model.js';

/** A timestamptz as epoch milliseconds (a float8 arrives as a number from both pg and PGlite). */
export function epochMs(column: string): string {
  return `(extract(epoch FROM ${column}) * 1000)::float8`;
}

export function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

export function stringOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Adds `n` to `counts[outcome]`, ignoring values outside the outcome union. */
export function addCount(counts: OutcomeCounts, outcome: unknown, n: unknown): void {
  if (!OUTCOMES.includes(outcome as Outcome)) return;
  const key = outcome as Outcome;
  counts[key] = (counts[key] ?? 0) + Number(n);
}
