import { describe, expect, it } from 'vitest';
import { OUTCOMES } from '../../src/results/outcome.js';
import { badgeTextColor, CARD_BACKGROUND, contrastRatio, OUTCOME_COLORS, PAGE_BACKGROUND, STATUS_COLORS } from '../../src/report/palette.js';

const round = (n: number) => Math.round(n * 100) / 100;

/** CIE L*a*b* (D65) of a `#rrggbb` colour, to tell how far apart two colours look. */
function lab(hex: string): [number, number, number] {
  const [r, g, b] = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
  const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
  const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

function closestPair(colors: Readonly<Record<string, string>>): number {
  const entries = Object.values(colors).map(lab);
  let closest = Infinity;
  entries.forEach((a, i) => entries.slice(i + 1).forEach((b) => (closest = Math.min(closest, Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])))));
  return closest;
}

describe('contrastRatio', () => {
  it('follows WCAG 2.1: black on white is 21:1, a colour on itself 1:1, #767676 on white just over 4.5:1', () => {
    expect([contrastRatio('#000000', '#ffffff'), contrastRatio('#5a8fcc', '#5a8fcc'), round(contrastRatio('#ffffff', '#767676'))]).toEqual([21, 1, 4.54]);
  });
});

describe('the report palette', () => {
  it('gives every outcome a colour of at least 3:1 against the cards and the page (WCAG 1.4.11)', () => {
    const ratios = OUTCOMES.map((outcome) => [outcome, round(contrastRatio(OUTCOME_COLORS[outcome], CARD_BACKGROUND)), round(contrastRatio(OUTCOME_COLORS[outcome], PAGE_BACKGROUND))] as const);

    expect(ratios.filter(([, card, page]) => card < 3 || page < 3)).toEqual([]);
    expect(Object.fromEntries(ratios.map(([outcome, card]) => [outcome, card]))).toEqual({
      published: 3.45, unchanged: 3.37, no_build_tool: 3.45, invalid: 6.72, clone_failed: 3.36,
      build_failed: 4.63, timed_out: 5.28, publish_failed: 5.87, aborted: 7.61, crashed: 14.83,
    });
  });

  it('gives every partition status a colour of at least 3:1 against the cards and the page', () => {
    const low = Object.entries(STATUS_COLORS).filter(([, color]) => contrastRatio(color, CARD_BACKGROUND) < 3 || contrastRatio(color, PAGE_BACKGROUND) < 3);

    expect(low).toEqual([]);
  });

  it('keeps the outcomes apart from each other, and the statuses too (CIELAB distance of at least 25)', () => {
    expect(closestPair(OUTCOME_COLORS)).toBeGreaterThanOrEqual(25);
    expect(closestPair(STATUS_COLORS)).toBeGreaterThanOrEqual(25);
  });

  it('writes badge text white or dark, whichever reaches 4.5:1 on the outcome colour', () => {
    const low = OUTCOMES.filter((outcome) => contrastRatio(badgeTextColor(OUTCOME_COLORS[outcome]), OUTCOME_COLORS[outcome]) < 4.5);

    expect(low).toEqual([]);
  });
});
