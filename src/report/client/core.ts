import { OUTCOME_COLORS, STATUS_COLORS } from '../palette.js';

/**
 * Browser code of the HTML report, part 1: the data, DOM helpers and formatting. Every string
 * from the data reaches the page through `textContent` (or `href` after a scheme check), never
 * `innerHTML`; ECharts tooltips get DOM nodes built the same way. Plain ES2017 in a string, so
 * the build needs no bundler; it runs under the page's CSP (its sha256 is allowed, nothing else).
 */
export const CLIENT_CORE = String.raw`
var R = JSON.parse(document.getElementById('report-data').textContent);
// palette.ts: each at least 3:1 against the cards and the page (WCAG 1.4.11).
var OUTCOME_COLORS = ${JSON.stringify(OUTCOME_COLORS)};
var STATUS_COLORS = ${JSON.stringify(STATUS_COLORS)};
var FAILED = {};
R.failedOutcomes.forEach(function (o) { FAILED[o] = true; });

function el(tag, options, children) {
  var node = document.createElement(tag);
  options = options || {};
  if (options.className) node.className = options.className;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  if (options.title) node.title = String(options.title);
  if (options.data) Object.keys(options.data).forEach(function (k) { node.dataset[k] = String(options.data[k]); });
  (children || []).forEach(function (child) { if (child) node.appendChild(child); });
  return node;
}
function byId(id) { return document.getElementById(id); }
function fmtInt(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }
function fmtPercent(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + ' %' : '–'; }
function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return Math.round(ms) + ' ms';
  var s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  var m = Math.floor(s / 60), rs = Math.round(s - m * 60);
  if (m < 60) return m + ' min ' + rs + ' s';
  var h = Math.floor(m / 60);
  return h + ' h ' + (m - h * 60) + ' min';
}
function fmtTime(ms) {
  if (ms === null || ms === undefined) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}
function safeHref(url) { return typeof url === 'string' && /^(https?|file):\/\//i.test(url) ? url : null; }
function logLink(url, label) {
  if (!url) return el('span', { className: 'muted', text: '–' });
  var href = safeHref(url);
  // s3:// (the Batch deployment's log URLs) cannot be a link: shown as text that wraps, to copy.
  if (!href) return el('span', { text: url, className: 'mono url' });
  var a = el('a', { text: label || 'build.log', title: url });
  a.href = href;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  return a;
}
function repoName(origin, path, branch) {
  return (origin === null || origin === undefined ? '?' : origin) + '/' + (path === null || path === undefined ? '?' : path) + (branch ? ' @ ' + branch : '');
}
function outcomeBadge(outcome) {
  var badge = el('span', { className: 'badge', text: outcome, data: { outcome: outcome } });
  badge.style.backgroundColor = OUTCOME_COLORS[outcome] || '#888';
  return badge;
}
function row(cells) { return el('tr', {}, cells); }
function cell(content, className) {
  var td = el('td', { className: className });
  if (content && content.nodeType) td.appendChild(content); else td.textContent = content === null || content === undefined ? '' : String(content);
  return td;
}
function presentOutcomes(countsList) {
  return R.outcomes.filter(function (o) { return countsList.some(function (c) { return (c[o] || 0) > 0; }); });
}
// A packed value (embed.ts packJson: base64 of gzipped JSON), as a promise of the value.
function unpackJson(packed) {
  return new Promise(function (resolve) {
    if (typeof DecompressionStream !== 'function') {
      throw new Error('this browser cannot unpack the list (it has no DecompressionStream: use Chrome or Edge 80, Firefox 113, Safari 16.4 or later); the same rows are in report --format json');
    }
    resolve(new Promise(function (unpacked) {
      var binary = atob(packed), bytes = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      unpacked(new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text());
    }).then(function (text) { return JSON.parse(text); }).then(null, function () {
      // Chrome says 'Failed to fetch' for bad gzip data, as if the page had made a request: it made none.
      throw new Error('the list embedded in this file is damaged (cut short or altered after it was written); the same rows are in report --format json');
    }));
  });
}
// A chart's place, when there is nothing to draw: a sentence instead of empty axes.
function noChart(id, text) {
  var node = byId(id);
  node.removeAttribute('role');
  node.removeAttribute('aria-label');
  node.className = 'no-results';
  node.style.height = 'auto';
  node.textContent = text;
}
var NO_RESULTS = 'No results recorded for this run.';
function tooltipNode(title, lines) {
  var box = el('div', { className: 'tip' }, [el('div', { className: 'tip-title', text: title })]);
  lines.forEach(function (line) { box.appendChild(el('div', { text: line })); });
  return box;
}

function renderHeader() {
  var run = R.run, agg = R.aggregates, wall = agg.wall;
  document.title = 'mass-ingest run ' + run.id;
  byId('run-title').textContent = 'Run ' + run.id;
  var facts = [
    ['Inventory', run.inventoryUri],
    ['Rows', run.inventoryRows === null ? '–' : fmtInt(run.inventoryRows)],
    ['Inventory sha256', run.inventorySha256 || '–'],
    ['Trigger', run.trigger],
    ['Mode', run.mode],
    ['Partitions', (run.partitions === null ? fmtInt(R.partitions.rows.length) : fmtInt(run.partitions)) + (run.partitionSize ? ' × ' + fmtInt(run.partitionSize) + ' rows' : '')],
    ['Started', fmtTime(wall.startedAt)],
    ['Finished', wall.finishedAt === null ? 'not marked finished (last result ' + fmtTime(wall.lastResultAt) + ')' : fmtTime(wall.finishedAt)],
    ['Wall time', fmtDuration(wall.wallMs)],
    ['Repositories recorded', fmtInt(agg.total)],
    ['Failed', fmtInt(agg.failed) + ' (' + fmtPercent(agg.failed, agg.total) + ')']
  ];
  if (run.rerunOf) facts.splice(5, 0, ['Rerun of', 'run ' + run.rerunOf.runId + ': its ' + run.rerunOf.rows + ' rows (chunk --only ' + run.rerunOf.rows + ')']);
  var dl = byId('run-facts');
  facts.forEach(function (f) {
    dl.appendChild(el('dt', { text: f[0] }));
    dl.appendChild(el('dd', { text: f[1], className: f[0] === 'Inventory sha256' ? 'mono' : '' }));
  });
  if (agg.total === 0) {
    var empty = byId('run-empty');
    empty.textContent = NO_RESULTS + ' There are no outcomes, durations or failures to show; the partitions and the trend of earlier runs are below.';
    empty.hidden = false;
  }
  byId('generated').textContent = 'Generated ' + fmtTime(R.generatedAt) + ' by mass-ingest · charts: ' + R.library.name + ' ' + R.library.version;
}

function renderCounts() {
  var body = byId('counts-body'), total = R.aggregates.total;
  R.outcomes.forEach(function (o) {
    var n = R.counts[o] || 0;
    if (n === 0) return;
    body.appendChild(row([cell(outcomeBadge(o)), el('td', { className: 'num', text: fmtInt(n), data: { outcome: o, count: n } }), cell(fmtPercent(n, total), 'num')]));
  });
  if (total === 0) body.appendChild(row([el('td', { text: 'no results', className: 'muted' }), cell('0', 'num'), cell('')]));
  var foot = byId('counts-foot');
  foot.appendChild(row([cell('total'), el('td', { className: 'num', text: fmtInt(total), data: { total: total } }), cell('')]));
  foot.appendChild(row([el('td', { text: 'failed', title: 'every outcome --strict counts as failed' }), el('td', { className: 'num', text: fmtInt(R.aggregates.failed), data: { failed: R.aggregates.failed } }), cell(fmtPercent(R.aggregates.failed, total), 'num')]));
}

function renderDurations() {
  var p = R.aggregates.durations.percentiles, body = byId('percentiles-body');
  [['all recorded (not invalid)', p.all], ['built (a builder ran)', p.built]].forEach(function (entry) {
    var v = entry[1];
    body.appendChild(row([cell(entry[0]), cell(fmtInt(v.count), 'num'), cell(fmtDuration(v.p50), 'num'), cell(fmtDuration(v.p90), 'num'), cell(fmtDuration(v.p99), 'num'), cell(fmtDuration(v.max), 'num')]));
  });
  var slow = byId('slowest-body');
  if (R.aggregates.slowest.length === 0) slow.appendChild(row([el('td', { text: 'No durations recorded', className: 'muted' })]));
  R.aggregates.slowest.forEach(function (s) {
    slow.appendChild(row([cell(s.rowNumber, 'num'), cell(repoName(s.origin, s.path, s.branch), 'repo'), cell(outcomeBadge(s.outcome)), cell(s.builder || '–'), cell(fmtDuration(s.durationMs), 'num'), cell(logLink(s.logUrl))]));
  });
}

function renderPartitionSummary() {
  var parts = R.partitions, statuses = parts.statuses, box = byId('partition-summary');
  var names = Object.keys(statuses).sort();
  box.appendChild(el('span', { text: fmtInt(parts.rows.length) + ' partitions' + (names.length ? ': ' + names.map(function (s) { return fmtInt(statuses[s]) + ' ' + s; }).join(', ') : '') }));
  var spans = parts.rows.filter(function (p) { return p[5] !== null && p[6] !== null; });
  if (spans.length > 1) {
    var longest = spans.slice().sort(function (a, b) { return (b[6] - b[5]) - (a[6] - a[5]); }).slice(0, 5);
    box.appendChild(el('span', { text: ' · longest: ' + longest.map(function (p) { return '#' + p[0] + ' ' + fmtDuration(p[6] - p[5]); }).join(', ') }));
  }
}
`;
