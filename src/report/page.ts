import { inlineScript, scriptHash } from './embed.js';
import { REPORT_CSS } from './styles.js';

/**
 * The page skeleton: static markup only — every value is filled in by the client script from
 * the embedded JSON. The CSP allows exactly the two inline scripts (by hash) and requests to no
 * address at all, so even a string that slipped past escaping could neither run nor load.
 */
export interface PageParts {
  /** Output of embedJson(). */
  readonly dataJson: string;
  readonly librarySource: string;
  readonly clientSource: string;
}

export function renderPage(parts: PageParts): string {
  const library = inlineScript(parts.librarySource);
  const client = inlineScript(parts.clientSource);
  const csp = [
    "default-src 'none'",
    `script-src ${scriptHash(library)} ${scriptHash(client)}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>mass-ingest run report</title>
<link rel="icon" href="data:,">
<style>${REPORT_CSS}</style>
</head>
<body>
<noscript><p>This report draws its tables and charts with JavaScript; the same numbers are in summary.json and in <code>mass-ingest report --format table</code>.</p></noscript>
${BODY}
<script type="application/json" id="report-data">${parts.dataJson}</script>
<script>${library}</script>
<script>${client}</script>
</body>
</html>
`;
}

const BODY = `<header>
<h1 id="run-title">Run</h1>
<dl class="facts" id="run-facts"></dl>
</header>
<div id="errors" hidden></div>
<p id="run-empty" role="status" hidden></p>
<main>
<section class="card" id="outcomes">
<h2>Outcomes</h2>
<div class="split">
<div class="chart" id="chart-outcomes" role="img" aria-label="Bar chart: repositories per outcome, as in the table beside it"></div>
<table id="counts-table"><thead><tr><th>outcome</th><th class="num">repositories</th><th class="num">share</th></tr></thead><tbody id="counts-body"></tbody><tfoot id="counts-foot"></tfoot></table>
</div>
</section>
<section class="card" id="builders">
<h2>Outcomes per builder</h2>
<div class="chart" id="chart-builders" role="img" aria-label="Stacked bar chart: outcomes per builder"></div>
</section>
<section class="card" id="durations">
<h2>Durations</h2>
<div class="chart" id="chart-histogram" role="img" aria-label="Histogram: repositories per duration range, stacked by outcome; percentiles in the table below"></div>
<table id="percentiles-table"><thead><tr><th>repositories</th><th class="num">count</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th></tr></thead><tbody id="percentiles-body"></tbody></table>
</section>
<section class="card" id="slowest">
<h2>The 20 slowest repositories</h2>
<table id="slowest-table"><thead><tr><th class="num">row</th><th>repository</th><th>outcome</th><th>builder</th><th class="num">duration</th><th>log</th></tr></thead><tbody id="slowest-body"></tbody></table>
</section>
<section class="card wide" id="partitions">
<h2>Partitions</h2>
<p class="note" id="partition-summary"></p>
<p class="note">Each bar spans a partition's first repository start to its last repository finish (time since the run started), coloured by the partition's status (legend above the chart; click an entry to hide it); hover a bar for its rows and failed repositories. Below: partitions running at once — gaps are idle capacity, a long tail is a straggler.</p>
<div class="chart" id="chart-timeline" role="img" aria-label="Timeline: each partition from its first start to its last finish, and how many partitions ran at once"></div>
</section>
<section class="card wide" id="failures">
<h2>Failures</h2>
<p class="note" id="failures-note"></p>
<div class="controls">
<label>Outcome <select id="filter-outcome"></select></label>
<label>Error code <select id="filter-code"></select></label>
<input type="search" id="filter-text" placeholder="Filter by repository or error text" aria-label="Filter by repository or error text">
<span id="failures-status" class="muted" role="status"></span>
</div>
<table id="failures-table">
<thead><tr><th class="num" data-sort="row" aria-sort="ascending"><button type="button">row</button></th><th data-sort="repo"><button type="button">repository</button></th><th data-sort="outcome"><button type="button">outcome</button></th><th data-sort="code"><button type="button">error code</button></th><th>error (first lines)</th><th>log</th></tr></thead>
<tbody id="failures-body"></tbody>
</table>
<div class="pager">
<button type="button" id="failures-first">« first</button><button type="button" id="failures-prev">‹ previous</button>
<span id="failures-page"></span>
<button type="button" id="failures-next">next ›</button><button type="button" id="failures-last">last »</button>
<label>rows per page <select id="failures-size"><option>50</option><option selected>100</option><option>500</option></select></label>
</div>
</section>
<section class="card wide" id="trend">
<h2>Trend: the last runs</h2>
<div class="chart" id="chart-trend" role="img" aria-label="Bar chart: published, unchanged and failed repositories of the last runs, with their wall time as a line"></div>
</section>
</main>
<footer id="generated"></footer>`;
