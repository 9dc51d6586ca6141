#!/usr/bin/env node
// Bundles the entry points tsc wrote (dist/cli.js, dist/results/embedded-host.js) with their
// dependencies into single files plus shared chunks in dist/bundle/. Node 20 loads one file far
// faster than the ~250 modules behind `mass-ingest process` (≈150–250 ms of every start,
// bench/processor). The rest of dist/ stays as tsc wrote it (benches and scripts import it).
// Chunks sit one level below dist/, as the modules tsc wrote do, so the paths the code finds
// relative to its own file (migrations/, dist/pglite-template, the host, dist/cli.js) hold in both.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const staging = path.join(dist, '.bundle-staging');
fs.rmSync(staging, { recursive: true, force: true });

// The entries must be tsc's output: bundling a bundle again declares the banner's require twice and
// leaves a dist/cli.js that cannot start. `npm run build` runs tsc first.
for (const entry of ['cli.js', 'results/embedded-host.js']) {
  if (fs.readFileSync(path.join(dist, entry), 'utf8').includes('__bundleRequire')) {
    console.error(`scripts/bundle.js: dist/${entry} is already bundled; run \`npm run build\` (tsc first), not this script alone`);
    process.exit(1);
  }
}

/**
 * pg's lib/stream.js asks at load whether it runs on Cloudflare Workers: on Node 20, which has no
 * global `navigator`, it builds a `Response`, and that loads node's whole fetch implementation
 * (undici): 17–46 ms of every start of every command. Inside that module only, `navigator` says
 * what the answer is; nothing else in the bundle sees it.
 */
const notCloudflare = {
  name: 'pg-not-cloudflare',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      if (!source.includes('function isCloudflareRuntime()')) throw new Error('scripts/bundle.js: pg/lib/stream.js no longer has isCloudflareRuntime; review the pg-not-cloudflare plugin');
      return { contents: `const navigator = { userAgent: 'Node.js' };\n${source}`, loader: 'js' };
    });
  },
};

/**
 * node-pg-migrate makes a jiti instance as it loads, and jiti makes its cache directory then:
 * `$TMPDIR/jiti` (`node_modules/.cache/jiti` beside the working directory), left behind empty by
 * every process that migrates. Only JavaScript and TypeScript migrations need jiti; ours are SQL
 * (migrations/*.sql), so inside node-pg-migrate `jiti` is this stand-in, and nothing is made. Its
 * cache cannot be turned off otherwise but through JITI_FS_CACHE in process.env, read when the
 * instance is made.
 */
const noJiti = {
  name: 'node-pg-migrate-without-jiti',
  setup(plugin) {
    plugin.onResolve({ filter: /^jiti$/ }, (args) => (/[\\/]node_modules[\\/]node-pg-migrate[\\/]/.test(args.importer) ? { path: 'jiti', namespace: 'no-jiti' } : undefined));
    plugin.onLoad({ filter: /.*/, namespace: 'no-jiti' }, () => ({
      contents: 'export function createJiti() { return { import: async (file) => { throw new Error(`mass-ingest runs SQL migrations only, not ${file}`); } }; }\n',
      loader: 'js',
    }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: [path.join(dist, 'cli.js'), path.join(dist, 'results', 'embedded-host.js')],
  outbase: dist,
  outdir: staging,
  chunkNames: 'bundle/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Loaded from node_modules at run time: WebAssembly and data files (PGlite), large SDKs loaded
  // only for s3:// (AWS), the report's inlined library (read as a file) and the terminal-only
  // logger. The migration runner is bundled (for noJiti), in a chunk of its own loaded only when a
  // migration is pending.
  external: ['@electric-sql/pglite', '@aws-sdk/*', '@smithy/*', 'echarts', 'pino-pretty'],
  // CommonJS dependencies bundled into ESM call require() for node's own modules.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  plugins: [notCloudflare, noJiti],
  logLevel: 'warning',
});

// Code that finds files relative to its own module must sit in a chunk (dist/bundle/), never in
// an entry file one level up, or its relative paths would miss.
for (const entry of ['cli.js', 'results/embedded-host.js']) {
  const text = fs.readFileSync(path.join(staging, entry), 'utf8');
  if (/new URL\([^)]*import\.meta\.url\)/.test(text)) throw new Error(`scripts/bundle.js: ${entry} resolves a path against its own URL; move that code behind a dynamic import`);
}
fs.rmSync(path.join(dist, 'bundle'), { recursive: true, force: true });
fs.renameSync(path.join(staging, 'bundle'), path.join(dist, 'bundle'));
fs.renameSync(path.join(staging, 'cli.js'), path.join(dist, 'cli.js'));
fs.renameSync(path.join(staging, 'results', 'embedded-host.js'), path.join(dist, 'results', 'embedded-host.js'));
fs.rmSync(staging, { recursive: true, force: true });
// tsc's source maps describe the files that were just replaced.
for (const file of ['cli.js.map', 'results/embedded-host.js.map']) fs.rmSync(path.join(dist, file), { force: true });
fs.chmodSync(path.join(dist, 'cli.js'), 0o755);
