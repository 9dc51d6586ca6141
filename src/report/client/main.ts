import { CLIENT_CHART_KIT } from './chart-kit.js';
import { CLIENT_CHARTS } from './charts.js';
import { CLIENT_CORE } from './core.js';
import { CLIENT_FAILURES } from './failures.js';
import { CLIENT_LOG_DECODER } from '../failure-query.js';

/**
 * The whole browser script: each section renders on its own, so one failing part (reported on
 * the console and in the page) does not blank the rest. `data-ready` on <html> and
 * `window.__reportReadyMs` mark the page interactive, once the failures are unpacked and drawn
 * (tests and bench/report.js wait for them).
 */
const CLIENT_MAIN = String.raw`
function section(name, render) {
  try { render(); performance.mark('report:' + name); } catch (err) {
    console.error('report section ' + name + ' failed', err);
    var box = byId('errors');
    box.hidden = false;
    box.appendChild(el('div', { text: 'The ' + name + ' section could not be drawn: ' + (err && err.message ? err.message : String(err)) }));
  }
}
section('header', renderHeader);
section('counts', renderCounts);
section('outcomes chart', renderOutcomeChart);
section('builders chart', renderBuilderChart);
section('durations', renderDurations);
section('durations chart', renderHistogram);
section('partitions', renderPartitionSummary);
section('timeline chart', renderTimeline);
section('trend chart', renderTrend);
// The failed rows come packed: the other sections are drawn while they unpack.
unpackJson(R.failures).then(function (failures) {
  F = failures;
  F.rows = failureRows(F.columns, F.total);
  section('failures', renderFailures);
}, function (err) {
  byId('failures-note').textContent = 'The failures could not be shown: ' + (err && err.message ? err.message : String(err));
  section('failures', function () { throw err; });
}).then(function () {
  window.__reportReadyMs = performance.now();
  document.documentElement.dataset.ready = 'true';
});
`;

export const CLIENT_SCRIPT = `(function () {\n'use strict';\n${CLIENT_CORE}\n${CLIENT_LOG_DECODER}\n${CLIENT_CHART_KIT}\n${CLIENT_CHARTS}\n${CLIENT_FAILURES}\n${CLIENT_MAIN}\n})();\n`;
