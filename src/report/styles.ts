import { OUTCOMES } from '../results/outcome.js';
import { badgeTextColor, CARD_BACKGROUND, OUTCOME_COLORS, PAGE_BACKGROUND, TEXT_COLOR } from './palette.js';

/** Outcome badges whose colour needs the dark text (palette.ts: white does not reach 4.5:1 on them). */
const DARK_TEXT_BADGES = OUTCOMES.filter((outcome) => badgeTextColor(OUTCOME_COLORS[outcome]) !== '#ffffff')
  .map((outcome) => `.badge[data-outcome=${outcome}]`)
  .join(', ');

/** The report's stylesheet (inlined; no web fonts, no images). */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: ${TEXT_COLOR}; --muted: #656d76; --line: #d8dee4; --bg: ${PAGE_BACKGROUND}; --card: ${CARD_BACKGROUND}; --accent: #0969da; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 20px 28px 8px; }
h1 { margin: 0 0 12px; font-size: 22px; overflow-wrap: anywhere; }
h2 { margin: 0 0 10px; font-size: 16px; }
main { padding: 0 28px 28px; display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.chart { width: 100%; height: 280px; }
#chart-timeline { height: 440px; }
.no-results { margin: 0; padding: 32px 16px; text-align: center; color: var(--muted); border: 1px dashed var(--line); border-radius: 6px; }
#run-empty { margin: 0 28px 12px; padding: 8px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); font-weight: 600; }
.split { display: grid; grid-template-columns: minmax(0, 1fr) max-content; gap: 16px; align-items: start; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
th[data-sort] button { font: inherit; color: inherit; background: none; border: 0; padding: 0; cursor: pointer; user-select: none; }
th[data-sort]::after { content: ' ↕'; color: var(--line); }
th[aria-sort=ascending]::after { content: ' ↑'; color: var(--fg); }
th[aria-sort=descending]::after { content: ' ↓'; color: var(--fg); }
tfoot td { font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.mono, .excerpt { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
.excerpt { white-space: pre-wrap; word-break: break-word; max-width: 60ch; }
.repo, .url { overflow-wrap: anywhere; }
.muted, .note { color: var(--muted); }
.note { margin: 0 0 10px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; color: #fff; font-size: 12px; white-space: nowrap; }
${DARK_TEXT_BADGES} { color: var(--fg); }
.controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
.controls input[type=search] { min-width: 240px; }
.controls select, .controls input, .controls button { font: inherit; padding: 3px 6px; }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 8px; }
.tip { max-width: 420px; white-space: normal; overflow-wrap: anywhere; }
.tip-title { font-weight: 600; }
#errors { background: #ffebe9; border: 1px solid #ff8182; border-radius: 6px; padding: 8px 12px; margin: 0 28px 12px; }
footer { padding: 0 28px 24px; color: var(--muted); font-size: 12px; }
@media (max-width: 700px) { main { grid-template-columns: 1fr; } .split { grid-template-columns: 1fr; } }
/* Printing resizes no chart: each canvas is scaled to its card instead of cut off at the paper's edge. */
@media print {
  body { background: #fff; }
  section.card { break-inside: avoid; }
  .chart { height: auto !important; }
  .chart > div { width: 100% !important; height: auto !important; }
  .chart canvas { position: static !important; width: 100% !important; height: auto !important; }
  .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;
