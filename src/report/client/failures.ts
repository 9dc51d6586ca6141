/**
 * Browser code of the HTML report, part 3: the failures table over the compact columns
 * (src/report/failure-query.ts, packed by embed.ts, decoded into one array per row): filter by outcome, error code and text, sort by column,
 * and render one page at a time, so 100,000 failures stay fast.
 */
export const CLIENT_FAILURES = String.raw`
// R.failures is packed (embed.ts): main unpacks it, then sets F and draws the table.
var F = null;
var COL = { row: 0, origin: 1, path: 2, branch: 3, outcome: 4, code: 5, excerpt: 6, log: 7 };
function failureRows(c, total) {
  var rows = new Array(total), rowNumber = 0;
  for (var i = 0; i < total; i++) {
    rowNumber += c.row[i];
    rows[i] = [rowNumber, c.origin[i], c.path[i], c.branch[i], c.outcome[i], c.code[i], c.excerpt[i], c.log[i]];
  }
  return rows;
}
var failState = { outcome: '', code: '', text: '', sort: 'row', dir: 1, page: 0, size: 100, view: [] };
var searchText = null;

function dict(list, index) { return index < 0 ? null : list[index]; }
function failureLog(r) { return decodeLog(r[COL.log], F.log, dict(F.origins, r[COL.origin]), r[COL.path]); }
function failureRepo(r) { return repoName(dict(F.origins, r[COL.origin]), r[COL.path], dict(F.branches, r[COL.branch])); }
function sortValue(r, key) {
  if (key === 'row') return r[COL.row];
  if (key === 'repo') return failureRepo(r);
  if (key === 'outcome') return R.outcomes[r[COL.outcome]];
  if (key === 'code') return dict(F.codes, r[COL.code]) || '';
  return '';
}
function textOf(i) {
  if (searchText === null) {
    searchText = F.rows.map(function (r) {
      return (failureRepo(r) + '\n' + (dict(F.codes, r[COL.code]) || '') + '\n' + (dict(F.excerpts, r[COL.excerpt]) || '')).toLowerCase();
    });
  }
  return searchText[i];
}

function applyFailureFilters() {
  var outcome = failState.outcome === '' ? -1 : R.outcomes.indexOf(failState.outcome);
  var code = failState.code === '' ? null : failState.code === '(none)' ? -1 : F.codes.indexOf(failState.code);
  var text = failState.text.trim().toLowerCase();
  var view = [];
  for (var i = 0; i < F.rows.length; i++) {
    var r = F.rows[i];
    if (outcome !== -1 && r[COL.outcome] !== outcome) continue;
    if (code !== null && r[COL.code] !== code) continue;
    if (text && textOf(i).indexOf(text) === -1) continue;
    view.push(r);
  }
  var key = failState.sort, dir = failState.dir;
  view.sort(function (a, b) {
    var x = sortValue(a, key), y = sortValue(b, key);
    var c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? c * dir : a[COL.row] - b[COL.row];
  });
  failState.view = view;
  failState.page = 0;
  renderFailurePage();
}

function renderFailurePage() {
  var view = failState.view, size = failState.size;
  var pages = Math.max(1, Math.ceil(view.length / size));
  failState.page = Math.min(Math.max(0, failState.page), pages - 1);
  var from = failState.page * size, rows = view.slice(from, from + size);
  var body = byId('failures-body');
  body.replaceChildren.apply(body, rows.map(function (r) {
    var excerpt = dict(F.excerpts, r[COL.excerpt]);
    return row([
      cell(r[COL.row], 'num'), cell(failureRepo(r), 'repo'), cell(outcomeBadge(R.outcomes[r[COL.outcome]])),
      cell(dict(F.codes, r[COL.code]) || '–', 'mono'), cell(excerpt === null ? '' : excerpt, 'excerpt'), cell(logLink(failureLog(r)))
    ]);
  }));
  var table = byId('failures-table');
  table.dataset.total = String(F.rows.length);
  table.dataset.filtered = String(view.length);
  byId('failures-status').textContent = view.length === 0
    ? 'No failures match' + (F.rows.length ? ' (of ' + fmtInt(F.rows.length) + ')' : '')
    : 'Showing ' + fmtInt(from + 1) + '–' + fmtInt(from + rows.length) + ' of ' + fmtInt(view.length) + (view.length !== F.rows.length ? ' (filtered from ' + fmtInt(F.rows.length) + ')' : '');
  byId('failures-page').textContent = 'page ' + fmtInt(failState.page + 1) + ' of ' + fmtInt(pages);
  byId('failures-prev').disabled = failState.page === 0;
  byId('failures-first').disabled = failState.page === 0;
  byId('failures-next').disabled = failState.page >= pages - 1;
  byId('failures-last').disabled = failState.page >= pages - 1;
}

function fillSelect(select, label, values, counts) {
  select.appendChild(el('option', { text: label + ' (' + fmtInt(F.rows.length) + ')' }));
  select.lastChild.value = '';
  values.forEach(function (v) {
    var option = el('option', { text: v + ' (' + fmtInt(counts[v] || 0) + ')' });
    option.value = v;
    select.appendChild(option);
  });
}

function renderFailures() {
  byId('failures-note').textContent = F.rows.length
    ? 'Every outcome that --strict counts as failed (' + R.failedOutcomes.join(', ') + '). Error text: the first lines, at most ' + F.excerptChars + ' characters; the full message is in report --format json and in build.log.'
    : R.aggregates.total === 0 ? NO_RESULTS : 'No repository failed in this run.';
  // Nothing to filter, sort or page through.
  if (F.rows.length === 0) Array.prototype.forEach.call(document.querySelectorAll('#failures .controls, #failures-table, #failures .pager'), function (n) { n.hidden = true; });
  // Error codes are keys: with no prototype, 'constructor' or '__proto__' count like any other.
  var outcomeCounts = Object.create(null), codeCounts = Object.create(null);
  F.rows.forEach(function (r) {
    var o = R.outcomes[r[COL.outcome]], c = dict(F.codes, r[COL.code]) || '(none)';
    outcomeCounts[o] = (outcomeCounts[o] || 0) + 1;
    codeCounts[c] = (codeCounts[c] || 0) + 1;
  });
  fillSelect(byId('filter-outcome'), 'all outcomes', R.failedOutcomes.filter(function (o) { return outcomeCounts[o]; }), outcomeCounts);
  fillSelect(byId('filter-code'), 'all error codes', Object.keys(codeCounts).sort(function (a, b) { return codeCounts[b] - codeCounts[a] || a.localeCompare(b); }), codeCounts);
  byId('filter-outcome').addEventListener('change', function (e) { failState.outcome = e.target.value; applyFailureFilters(); });
  byId('filter-code').addEventListener('change', function (e) { failState.code = e.target.value; applyFailureFilters(); });
  var timer = null;
  byId('filter-text').addEventListener('input', function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { failState.text = e.target.value; applyFailureFilters(); }, 150);
  });
  byId('failures-size').addEventListener('change', function (e) {
    var size = Number(e.target.value);
    // The first row shown stays on the page shown.
    failState.page = Math.floor(failState.page * failState.size / size);
    failState.size = size;
    renderFailurePage();
  });
  byId('failures-first').addEventListener('click', function () { failState.page = 0; renderFailurePage(); });
  byId('failures-prev').addEventListener('click', function () { failState.page -= 1; renderFailurePage(); });
  byId('failures-next').addEventListener('click', function () { failState.page += 1; renderFailurePage(); });
  byId('failures-last').addEventListener('click', function () { failState.page = Infinity; renderFailurePage(); });
  Array.prototype.forEach.call(document.querySelectorAll('#failures-table th[data-sort]'), function (th) {
    th.addEventListener('click', function () {
      var key = th.dataset.sort;
      failState.dir = failState.sort === key ? -failState.dir : 1;
      failState.sort = key;
      Array.prototype.forEach.call(document.querySelectorAll('#failures-table th[data-sort]'), function (other) { other.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', failState.dir === 1 ? 'ascending' : 'descending');
      applyFailureFilters();
    });
  });
  applyFailureFilters();
}
`;
