/**
 * Browser code of the HTML report, part 2: the ECharts charts (canvas renderer, no animation),
 * each an option built for its width (chart-kit.ts). Labels and axes are drawn on the canvas;
 * legends and tooltips are DOM nodes (`htmlLegend`, `tooltipNode`).
 */
export const CLIENT_CHARTS = String.raw`
function stackedSeries(categories, countsList, horizontal) {
  return presentOutcomes(countsList).map(function (o) {
    return {
      name: o, type: 'bar', stack: 'outcomes', itemStyle: { color: OUTCOME_COLORS[o] },
      emphasis: { focus: 'series' }, barMaxWidth: 48,
      data: countsList.map(function (c) { return c[o] || 0; })
    };
  });
}
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
  // Room on the right for the longest count written after its bar.
  var labelRoom = 12 + 7 * present.reduce(function (m, o) { return Math.max(m, fmtInt(R.counts[o]).length); }, 1);
  chart('chart-outcomes', function (width) {
    return {
      grid: fittedGrid({ left: 0, right: labelRoom, top: 4, bottom: 4 }),
      tooltip: axisTooltip(function (i) { return present[i]; }),
      xAxis: valueAxis(width),
      yAxis: { type: 'category', data: present, inverse: true },
      series: [{
        type: 'bar', barMaxWidth: 28, label: { show: true, position: 'right', formatter: function (p) { return fmtInt(p.value); } },
        data: present.map(function (o) { return { value: R.counts[o], name: o, itemStyle: { color: OUTCOME_COLORS[o] } }; })
      }]
    };
  });
}

function renderBuilderChart() {
  if (R.aggregates.total === 0) return noChart('chart-builders', NO_RESULTS);
  var builders = R.aggregates.builders;
  var names = builders.map(function (b) { return b.builder === null ? '(no build)' : b.builder; });
  var series = stackedSeries(names, builders.map(function (b) { return b.counts; }), true);
  chart('chart-builders', function (width) {
    return {
      grid: fittedGrid({ left: 0, right: 16, top: 4, bottom: 4 }),
      legend: legendOf(series),
      tooltip: axisTooltip(function (i) { return names[i]; }),
      xAxis: valueAxis(width),
      yAxis: { type: 'category', data: names, inverse: true, axisLabel: { width: Math.min(160, width / 3), overflow: 'truncate' } },
      series: series
    };
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
// Every bucket keeps its label: level while they fit, then slanted, then upright.
function bucketLabelRotation(width, count) {
  var room = (width - 40) / Math.max(1, count);
  return room >= 64 ? 0 : room >= 34 ? 40 : 90;
}
function renderHistogram() {
  if (R.aggregates.total === 0) return noChart('chart-histogram', NO_RESULTS);
  var buckets = R.aggregates.durations.histogram;
  var labels = buckets.map(bucketLabel);
  var series = stackedSeries(labels, buckets.map(function (b) { return b.counts; }));
  chart('chart-histogram', function (width) {
    return {
      grid: fittedGrid({ left: 0, right: 8, top: 8, bottom: 4 }),
      legend: legendOf(series),
      tooltip: axisTooltip(function (i) { return labels[i]; }),
      xAxis: { type: 'category', data: labels, axisLabel: { rotate: bucketLabelRotation(width, labels.length), interval: 0 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: series
    };
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
  var right = count > 60 ? 40 : 24;
  var bars = statusSeries(spans, origin, unit.ms);
  // Both plots share the time axis, so both keep the same fixed left margin (not fitted to their labels).
  var timeAxis = function (grid, width) {
    return valueAxis(width, { gridIndex: grid, min: 0, minInterval: 0, axisLabel: { hideOverlap: true, formatter: '+{value} ' + unit.name } });
  };
  chart('chart-timeline', function (width) {
    return {
      legend: legendOf(bars),
      grid: [{ left: 60, right: right, top: 28, height: '58%' }, { left: 60, right: right, top: '80%', bottom: 24 }],
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
      xAxis: [timeAxis(0, width), timeAxis(1, width)],
      yAxis: [
        { type: 'value', gridIndex: 0, inverse: true, min: -0.5, max: Math.max(0.5, count - 0.5), name: 'partition', nameLocation: 'start', minInterval: 1,
          axisLabel: { formatter: function (v) { return Number.isInteger(v) ? String(v) : ''; } } },
        { type: 'value', gridIndex: 1, minInterval: 1, splitNumber: 2, name: 'running', nameGap: 8 }
      ],
      series: bars.concat([{
        name: 'partitions running', type: 'line', step: 'end', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, areaStyle: { opacity: 0.25 },
        lineStyle: { width: 1 }, itemStyle: { color: '#57606a' }, data: runningOverTime(spans, origin, unit.ms)
      }])
    };
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
  chart('chart-trend', function () {
    return {
      grid: fittedGrid({ left: 0, right: 0, top: 8, bottom: 4 }),
      legend: legendOf(series),
      tooltip: { trigger: 'axis', formatter: function (params) {
        var t = trend[params[0] ? params[0].dataIndex : 0];
        return tooltipNode('Run ' + t.runId + ' (' + t.trigger + ')', [
          'started ' + fmtTime(t.createdAt), 'published ' + fmtInt(t.published) + ', unchanged ' + fmtInt(t.unchanged) + ', failed ' + fmtInt(t.failed) + ', other ' + fmtInt(other(t)) + ' of ' + fmtInt(t.total),
          'wall time ' + fmtDuration(t.wallMs)
        ]);
      } },
      xAxis: { type: 'category', data: labels, axisLabel: { lineHeight: 14, hideOverlap: true } },
      yAxis: [{ type: 'value', name: 'repositories', minInterval: 1 }, { type: 'value', name: 'minutes', splitLine: { show: false } }],
      series: series
    };
  });
}
`;
