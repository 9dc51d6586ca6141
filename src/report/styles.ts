import { OUTCOMES } from '../results/outcome.js';
import { badgeTextColor, CARD_BACKGROUND, OUTCOME_COLORS, PAGE_BACKGROUND, TEXT_COLOR } from './palette.js';

/** Outcome badges whose colour needs the dark text (palette.ts: white does not reach 4.5:1 on them). */
const DARK_TEXT_BADGES = OUTCOMES.filter((outcome) => badgeTextColor(OUTCOME_COLORS[outcome]) !== '#ffffff')
  .map((outcome) => `.badge[data-outcome=${outcome}]`)
  .join(', ');

/**
 * The wide tables in a narrow card (a phone, or a half-width card below about 1,400 px): each row becomes
 * a block — its number, outcome and short fields on one line, the repository, error text and log
 * below, each as wide as the card. The failures table keeps its sort buttons as a row above.
 */
const STACKED_TABLES = `
@container (max-width: 640px) {
  #failures-table thead tr { display: flex; flex-wrap: wrap; gap: 4px 12px; }
  #failures-table thead tr::before { content: 'sort by'; color: var(--muted); }
  #failures-table thead th { border: 0; padding: 0; }
  #failures-table thead th:not([data-sort]) { display: none; }
  #failures-table tbody tr, #slowest-table tbody tr { display: grid; grid-template-columns: auto auto auto minmax(0, 1fr); gap: 2px 10px; padding: 8px 0; border-bottom: 1px solid var(--line); }
  #failures-table tbody td, #slowest-table tbody td { border: 0; padding: 0; text-align: left; }
  #failures-table td.num:nth-child(1)::before, #slowest-table td.num:nth-child(1)::before { content: '#'; }
  #failures-table td:nth-child(1) { grid-area: 1 / 1; }
  #failures-table td:nth-child(3) { grid-area: 1 / 2; }
  #failures-table td:nth-child(4) { grid-area: 1 / 3 / 2 / 5; overflow-wrap: anywhere; }
  #failures-table td:nth-child(2) { grid-area: 2 / 1 / 3 / 5; }
  #failures-table td:nth-child(5) { grid-area: 3 / 1 / 4 / 5; max-width: none; }
  #failures-table td:nth-child(6) { grid-area: 4 / 1 / 5 / 5; }
  #slowest-table thead { display: none; }
  #slowest-table td:nth-child(2) { grid-area: 2 / 1 / 3 / 5; }
  #slowest-table td:nth-child(6) { grid-area: 3 / 1 / 4 / 5; }
  #failures-table .url, #slowest-table .url { max-width: none; }
}
@container (max-width: 560px) {
  #percentiles-table thead { display: none; }
  #percentiles-table tr { display: flex; flex-wrap: wrap; gap: 0 12px; padding: 6px 0; border-bottom: 1px solid var(--line); }
  #percentiles-table td { border: 0; padding: 0; }
  #percentiles-table td:first-child { flex-basis: 100%; font-weight: 600; }
  ${['count', 'p50', 'p90', 'p99', 'max'].map((name, index) => `#percentiles-table td:nth-child(${index + 2})::before { content: '${name} '; color: var(--muted); }`).join('\n  ')}
}
`;

/** The report's stylesheet (inlined; no web fonts, no images). */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: ${TEXT_COLOR}; --muted: #656d76; --line: #d8dee4; --bg: ${PAGE_BACKGROUND}; --card: ${CARD_BACKGROUND}; --accent: #0969da; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 20px 28px 8px; }
h1 { margin: 0 0 12px; font-size: 22px; overflow-wrap: anywhere; }
h2 { margin: 0 0 10px; font-size: 16px; }
/* Two columns only where a half-width card still holds a table of six columns (about 1,230 px). */
main { padding: 0 28px 28px; display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 580px), 1fr)); gap: 16px; }
/* Each card is a size container: its tables change layout with the card's width, not the window's. */
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px; min-width: 0; container-type: inline-size; }
section.wide { grid-column: 1 / -1; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.chart { width: 100%; height: 280px; }
#chart-timeline { height: 440px; }
.chart + table { margin-top: 12px; }
.no-results { margin: 0; padding: 32px 16px; text-align: center; color: var(--muted); border: 1px dashed var(--line); border-radius: 6px; }
#run-empty { margin: 0 28px 12px; padding: 8px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); font-weight: 600; }
/* The chart beside its table while it gets 320 px, else above it; the table then takes the whole width. */
.split { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.split > .chart { flex: 999 1 320px; min-width: 0; }
.split > table { flex: 1 0 auto; width: auto; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 12px; margin: 0 0 6px; font-size: 12px; }
.legend button { font: inherit; color: var(--fg); background: none; border: 0; padding: 1px 0; cursor: pointer; display: inline-flex; align-items: center; gap: 5px; }
.legend button[aria-pressed=false] { color: var(--muted); text-decoration: line-through; }
.legend button[aria-pressed=false] .swatch { background-color: var(--line) !important; }
.swatch { display: inline-block; width: 12px; height: 8px; border-radius: 2px; }
.swatch.line { height: 3px; }
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
/* An s3:// log URL wraps in a column of its own width: neither a sliver nor the whole row. */
.url { display: inline-block; min-width: 18ch; max-width: 40ch; }
.muted, .note { color: var(--muted); }
.note { margin: 0 0 10px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; color: #fff; font-size: 12px; white-space: nowrap; }
${DARK_TEXT_BADGES} { color: var(--fg); }
.controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
.controls input[type=search] { flex: 1 1 240px; min-width: 0; max-width: 360px; }
.controls select, .controls input, .controls button { font: inherit; padding: 3px 6px; }
.pager { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 8px; }
.tip { max-width: 420px; white-space: normal; overflow-wrap: anywhere; }
.tip-title { font-weight: 600; }
#errors { background: #ffebe9; border: 1px solid #ff8182; border-radius: 6px; padding: 8px 12px; margin: 0 28px 12px; }
footer { padding: 0 28px 24px; color: var(--muted); font-size: 12px; }
@media (max-width: 700px) {
  header { padding: 16px 12px 8px; }
  main { padding: 0 12px 16px; gap: 12px; }
  section.card { padding: 12px; }
  #errors, #run-empty { margin: 0 12px 12px; }
  footer { padding: 0 12px 16px; }
  dl.facts { grid-template-columns: 1fr; gap: 0; }
  dl.facts dd { margin-bottom: 6px; }
}
${STACKED_TABLES}
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
