/**
 * Browser code of the HTML report, part 2: the ECharts charts (canvas renderer, no animation).
 * Labels and axes are drawn on the canvas; tooltips are DOM nodes from `tooltipNode`.
 */
export const CLIENT_CHARTS = String.raw`
var CHARTS = [];
function chart(id, option) {
  var node = byId(id);
  var instance = echarts.init(node, null, { renderer: 'canvas' });
  option.animation = false;
  option.textStyle = { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, Liberation Sans, sans-serif' };
  instance.setOption(option);
  CHARTS.push(instance);
  return instance;
}
window.addEventListener('resize', function () { CHARTS.forEach(function (c) { c.resize(); }); });

function stackedSeries(categories, countsList, horizontal) {
  return presentOutcomes(countsList).map(function (o) {
    return {
      name: o, type: 'bar', stack: 'outcomes', itemStyle: { color: OUTCOME_COLORS[o] },
      emphasis: { focus: 'series' }, barMaxWidth: 48,
      data: countsList.map(function (c) { return c[o] || 0; })
    };
  });
}
// A plain legend wraps onto a second row in a half-width card; the grid leaves room for it.
var LEGEND = { top: 0, left: 0, right: 0, itemWidth: 12, itemHeight: 8, itemGap: 8, textStyle: { fontSize: 11 } };
function axisTooltip(titleOf) {
  return {
    trigger: 'axis', axisPointer: { type: 'shadow' },
    formatter: function (params) {
      var list = Array.isArray(params) ? params : [params];
      var lines = list.filter(function (p) { return p.value > 0; }).map(function (p) { return p.seriesName + ': ' + fmtInt(p.value); });
      return tooltipNode(titleOf(list[0] ? list[0].dataIndex : 0), lines.length ? lines : ['none']);
    }
  };
}

function renderOutcomeChart() {
  if (R.aggregates.total === 0) return noChart('chart-outcomes', NO_RESULTS);
  var present = R.outcomes.filter(function (o) { return (R.counts[o] || 0) > 0; });
  chart('chart-outcomes', {
    grid: { left: 110, right: 60, top: 10, bottom: 30 },
    tooltip: axisTooltip(function (i) { return present[i]; }),
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: present, inverse: true },
    series: [{
      type: 'bar', barMaxWidth: 28, label: { show: true, position: 'right', formatter: function (p) { return fmtInt(p.value); } },
      data: present.map(function (o) { return { value: R.counts[o], name: o, itemStyle: { color: OUTCOME_COLORS[o] } }; })
    }]
  });
}

function renderBuilderChart() {
  if (R.aggregates.total === 0) return noChart('chart-builders', NO_RESULTS);
  var builders = R.aggregates.builders;
  var names = builders.map(function (b) { return b.builder === null ? '(no build)' : b.builder; });
  chart('chart-builders', {
    grid: { left: 110, right: 30, top: 52, bottom: 30 },
    legend: LEGEND,
    tooltip: axisTooltip(function (i) { return names[i]; }),
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: names, inverse: true },
    series: stackedSeries(names, builders.map(function (b) { return b.counts; }), true)
  });
}

function shortDuration(ms) {
  if (ms < 60000) return Math.round(ms / 1000) + 's';
  if (ms < 3600000) return Math.round(ms / 60000) + 'm';
  return Math.round(ms / 3600000) + 'h';
}
function bucketLabel(b) {
  if (b.fromMs === 0) return '< ' + shortDuration(b.toMs);
  if (b.toMs === null) return '≥ ' + shortDuration(b.fromMs);
  return shortDuration(b.fromMs) + '–' + shortDuration(b.toMs);
}
function renderHistogram() {
  if (R.aggregates.total === 0) return noChart('chart-histogram', NO_RESULTS);
  var buckets = R.aggregates.durations.histogram;
  var labels = buckets.map(bucketLabel);
  chart('chart-histogram', {
    grid: { left: 50, right: 20, top: 52, bottom: 50 },
    legend: LEGEND,
    tooltip: axisTooltip(function (i) { return labels[i]; }),
    xAxis: { type: 'category', data: labels, axisLabel: { rotate: 30, interval: 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: stackedSeries(labels, buckets.map(function (b) { return b.counts; }))
  });
}

function runningOverTime(spans, origin, unitMs) {
  var events = [];
  spans.forEach(function (p) { events.push([p[5] - origin, 1]); events.push([p[6] - origin, -1]); });
  events.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
  var running = 0, points = [[0, 0]];
  events.forEach(function (e) { running += e[1]; points.push([e[0] / unitMs, running]); });
  return points;
}
function timeUnit(spanMs) {
  if (spanMs <= 120000) return { ms: 1000, name: 's' };
  if (spanMs <= 7200000) return { ms: 60000, name: 'min' };
  return { ms: 3600000, name: 'h' };
}
// One bar per partition, coloured by its status: a legend entry per status present.
function statusSeries(spans, origin, unitMs) {
  var byStatus = {};
  spans.forEach(function (p) {
    var status = p[3] || 'unrecorded';
    (byStatus[status] = byStatus[status] || []).push([p[0], (p[5] - origin) / unitMs, (p[6] - origin) / unitMs]);
  });
  var known = Object.keys(STATUS_COLORS);
  var statuses = known.filter(function (s) { return byStatus[s]; }).concat(Object.keys(byStatus).filter(function (s) { return known.indexOf(s) === -1; }).sort());
  return statuses.map(function (status) {
    return {
      name: status, type: 'custom', xAxisIndex: 0, yAxisIndex: 0, encode: { x: [1, 2], y: 0 }, data: byStatus[status],
      itemStyle: { color: STATUS_COLORS[status] || '#555' }, renderItem: partitionBar
    };
  });
}
// With thousands of partitions a bar is a pixel tall: any status but succeeded gets three, so a few failed ones show.
function partitionBar(params, api) {
  var start = api.coord([api.value(1), api.value(0)]), end = api.coord([api.value(2), api.value(0)]);
  var height = Math.max(params.seriesName === 'succeeded' ? 1 : 3, api.size([0, 1])[1] * 0.7);
  var shape = echarts.graphic.clipRectByRect(
    { x: start[0], y: start[1] - height / 2, width: Math.max(1, end[0] - start[0]), height: height },
    { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
  return shape && { type: 'rect', transition: [], shape: shape, style: { fill: api.visual('color') } };
}
function renderTimeline() {
  var origin = R.aggregates.wall.startedAt;
  var spans = R.partitions.rows.filter(function (p) { return p[5] !== null && p[6] !== null; });
  if (spans.length === 0) return noChart('chart-timeline', R.aggregates.total === 0 ? NO_RESULTS : 'No partition has results with start and finish times to draw.');
  var byPartition = {};
  spans.forEach(function (p) { byPartition[p[0]] = p; });
  var count = R.partitions.rows.length;
  var unit = timeUnit(spans.reduce(function (m, p) { return Math.max(m, p[6] - origin); }, 0));
  var zoom = count > 60 ? [{ type: 'slider', yAxisIndex: 0, filterMode: 'weakFilter', right: 4, width: 14, showDataShadow: false }] : [];
  var right = count > 60 ? 40 : 20;
  var timeAxis = function (grid) { return { type: 'value', gridIndex: grid, min: 0, axisLabel: { formatter: '+{value} ' + unit.name } }; };
  var bars = statusSeries(spans, origin, unit.ms);
  chart('chart-timeline', {
    legend: Object.assign({}, LEGEND, { data: bars.map(function (s) { return s.name; }) }),
    grid: [{ left: 60, right: right, top: 40, height: '54%' }, { left: 60, right: right, top: '78%', bottom: 24 }],
    tooltip: { trigger: 'item', formatter: function (params) {
      if (params.seriesType === 'line') return tooltipNode('+' + params.value[0].toFixed(1) + ' ' + unit.name, [fmtInt(params.value[1]) + ' partitions running']);
      var p = byPartition[params.value[0]];
      return tooltipNode('Partition ' + p[0], [
        'rows ' + (p[1] === null ? '?' : fmtInt(p[1])) + '–' + (p[2] === null ? '?' : fmtInt(p[2])) + ' · ' + (p[3] || 'no run_partitions row'),
        fmtTime(p[5]) + ' → ' + fmtTime(p[6]) + ' (' + fmtDuration(p[6] - p[5]) + ')',
        fmtInt(p[7]) + ' repositories, ' + fmtInt(p[8]) + ' failed'
      ]);
    } },
    dataZoom: zoom,
    xAxis: [timeAxis(0), timeAxis(1)],
    yAxis: [
      { type: 'value', gridIndex: 0, inverse: true, min: -0.5, max: Math.max(0.5, count - 0.5), name: 'partition', nameLocation: 'start', minInterval: 1,
        axisLabel: { formatter: function (v) { return Number.isInteger(v) ? String(v) : ''; } } },
      { type: 'value', gridIndex: 1, minInterval: 1, name: 'running', nameGap: 8 }
    ],
    series: bars.concat([{
      name: 'partitions running', type: 'line', step: 'end', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, areaStyle: { opacity: 0.25 },
      lineStyle: { width: 1 }, itemStyle: { color: '#57606a' }, data: runningOverTime(spans, origin, unit.ms)
    }])
  });
}

function runLabel(point) { return fmtTime(point.createdAt).slice(5, 16) + '\n' + (point.runId.length > 14 ? point.runId.slice(0, 13) + '…' : point.runId); }
function renderTrend() {
  var trend = R.aggregates.trend;
  if (!trend.some(function (t) { return t.total > 0; })) return noChart('chart-trend', 'No results recorded for this run or the runs before it.');
  var labels = trend.map(runLabel);
  // 'other' (no build tool: the outcomes neither published, unchanged nor failed), so each bar is as tall as its run.
  var other = function (t) { return Math.max(0, t.total - t.published - t.unchanged - t.failed); };
  var series = [['published', 'published'], ['unchanged', 'unchanged'], ['failed', 'build_failed'], ['other', 'no_build_tool']].map(function (s) {
    return { name: s[0], type: 'bar', stack: 'runs', barMaxWidth: 36, itemStyle: { color: OUTCOME_COLORS[s[1]] },
      data: trend.map(function (t) { return s[0] === 'other' ? other(t) : t[s[0]]; }) };
  });
  series.push({ name: 'wall time (min)', type: 'line', yAxisIndex: 1, itemStyle: { color: '#333' }, connectNulls: false,
    data: trend.map(function (t) { return t.wallMs === null ? null : Math.round(t.wallMs / 600) / 100; }) });
  chart('chart-trend', {
    grid: { left: 60, right: 60, top: 50, bottom: 50 },
    legend: LEGEND,
    tooltip: { trigger: 'axis', formatter: function (params) {
      var t = trend[params[0] ? params[0].dataIndex : 0];
      return tooltipNode('Run ' + t.runId + ' (' + t.trigger + ')', [
        'started ' + fmtTime(t.createdAt), 'published ' + fmtInt(t.published) + ', unchanged ' + fmtInt(t.unchanged) + ', failed ' + fmtInt(t.failed) + ', other ' + fmtInt(other(t)) + ' of ' + fmtInt(t.total),
        'wall time ' + fmtDuration(t.wallMs)
      ]);
    } },
    xAxis: { type: 'category', data: labels, axisLabel: { lineHeight: 14 } },
    yAxis: [{ type: 'value', name: 'repositories', minInterval: 1 }, { type: 'value', name: 'minutes', splitLine: { show: false } }],
    series: series
  });
}
`;
