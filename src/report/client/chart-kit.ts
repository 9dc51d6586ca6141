/**
 * Browser code of the HTML report: how a chart is drawn and kept fitted to its card. Each option
 * is built for the chart's width, and built again whenever that width changes (a window resized,
 * a card reflowed, a scrollbar appeared). Legends are HTML above the chart: they wrap with the
 * card instead of running into the plot, and their entries are buttons.
 */
export const CLIENT_CHART_KIT = String.raw`
var CHARTS = [];
var CHART_FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Liberation Sans, sans-serif';
function chart(id, build) {
  var node = byId(id);
  var instance = echarts.init(node, null, { renderer: 'canvas' });
  var size = [node.clientWidth, node.clientHeight];
  var optionFor = function (width) {
    var option = build(width);
    option.animation = false;
    option.textStyle = { fontFamily: CHART_FONT };
    return option;
  };
  var option = optionFor(size[0]);
  instance.setOption(option);
  if (option.legend) htmlLegend(node, instance, option);
  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(function () {
      // Printing scales each canvas to its card with the stylesheet (styles.ts): nothing to redraw.
      if (window.matchMedia && window.matchMedia('print').matches) return;
      if (node.clientWidth === size[0] && node.clientHeight === size[1]) return;
      size = [node.clientWidth, node.clientHeight];
      instance.resize();
      instance.setOption(optionFor(size[0]));
    }).observe(node);
  } else {
    window.addEventListener('resize', function () { instance.resize(); instance.setOption(optionFor(node.clientWidth)); });
  }
  CHARTS.push(instance);
  return instance;
}

// ECharts keeps which series are shown; its own legend is not drawn (htmlLegend draws it).
function legendOf(series) {
  return { show: false, data: series.map(function (s) { return s.name; }) };
}
function htmlLegend(node, instance, option) {
  var box = el('div', { className: 'legend' });
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Legend: press an entry to hide or show it');
  option.series.filter(function (s) { return option.legend.data.indexOf(s.name) !== -1; }).forEach(function (s) {
    var swatch = el('span', { className: s.type === 'line' ? 'swatch line' : 'swatch' });
    swatch.style.backgroundColor = s.itemStyle.color;
    var button = el('button', { text: s.name }, []);
    button.type = 'button';
    button.insertBefore(swatch, button.firstChild);
    button.setAttribute('aria-pressed', 'true');
    var shown = function () { return button.getAttribute('aria-pressed') === 'true'; };
    button.addEventListener('click', function () {
      instance.dispatchAction({ type: 'downplay', seriesName: s.name });
      instance.dispatchAction({ type: 'legendToggleSelect', name: s.name });
      button.setAttribute('aria-pressed', String(!shown()));
    });
    // Pointing at a shown entry brings its series forward, as ECharts' own legend does; a hidden one, nothing.
    var emphasis = function (type) { return function () { if (type === 'downplay' || shown()) instance.dispatchAction({ type: type, seriesName: s.name }); }; };
    button.addEventListener('mouseenter', emphasis('highlight'));
    button.addEventListener('focus', emphasis('highlight'));
    button.addEventListener('mouseleave', emphasis('downplay'));
    button.addEventListener('blur', emphasis('downplay'));
    box.appendChild(button);
  });
  node.parentNode.insertBefore(box, node);
}

// Value axes: fewer ticks on a narrow chart, and a label that would touch its neighbour is left out.
function valueAxis(width, extra) {
  return Object.assign({ type: 'value', minInterval: 1, splitNumber: Math.max(2, Math.min(5, Math.floor(width / 110))), axisLabel: { hideOverlap: true } }, extra || {});
}
// The grid's margins hold the axis labels and names (ECharts 6 outer bounds), whatever their length.
function fittedGrid(margins) {
  return Object.assign({ outerBoundsMode: 'same', outerBoundsContain: 'all' }, margins);
}
`;
