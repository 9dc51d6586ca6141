import type { Outcome } from '../results/outcome.js';
import type { PartitionStatus } from '../results/result-store.js';

/**
 * The HTML report's colours, in one place: the charts, the outcome badges and the partition
 * timeline use them, and test/report/palette.test.ts measures them. Every colour is drawn on
 * the white cards (and the grey page around them) and reaches 3:1 against both (WCAG 2.1
 * 1.4.11, non-text contrast), so light tints are not available: outcomes differ by hue.
 * Badge text is white or dark, whichever reaches 4.5:1 on the colour (`badgeTextColor`).
 */
export const CARD_BACKGROUND = '#ffffff';
export const PAGE_BACKGROUND = '#f6f8fa';
export const TEXT_COLOR = '#1f2328';

export const OUTCOME_COLORS: Readonly<Record<Outcome, string>> = {
  published: '#2e9d5b',
  unchanged: '#5a8fcc',
  no_build_tool: '#8a8a8a',
  invalid: '#6a4c9c',
  clone_failed: '#d27408',
  build_failed: '#d24038',
  timed_out: '#7d6b00',
  publish_failed: '#c2185b',
  aborted: '#6d4c41',
  crashed: '#222831',
};

/** `run_partitions.status`, and `unrecorded` for a partition with results but no row. */
export const STATUS_COLORS: Readonly<Record<PartitionStatus | 'unrecorded', string>> = {
  succeeded: '#2e9d5b',
  failed: '#d24038',
  running: '#3f74b3',
  submitted: '#1b7f86',
  planned: '#8a8a8a',
  unrecorded: '#6a4c9c',
};

/** WCAG 2.1 relative luminance of a `#rrggbb` colour. */
export function relativeLuminance(hex: string): number {
  const channels = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16) / 255);
  const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.1 contrast ratio of two `#rrggbb` colours, from 1 to 21. */
export function contrastRatio(a: string, b: string): number {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** White text on a badge of this colour when it reaches 4.5:1, else the page's dark text. */
export function badgeTextColor(fill: string): string {
  return contrastRatio(fill, '#ffffff') >= 4.5 ? '#ffffff' : TEXT_COLOR;
}
