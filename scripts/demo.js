#!/usr/bin/env node
// `npm run demo`: a few small repositories made locally, processed with the embedded database,
// then the report. Offline; everything it writes stays under ./demo (MASS_INGEST_DEMO_DIR: the
// test's own directory), which it empties first: only a directory an earlier demo made.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const demo = process.env.MASS_INGEST_DEMO_DIR ? path.resolve(process.env.MASS_INGEST_DEMO_DIR) : path.join(root, 'demo');
const repos = path.join(demo, 'repos');
const MARKER = '.mass-ingest-demo';
const entries = fs.existsSync(demo) ? fs.readdirSync(demo) : [];
if (entries.length > 0 && !entries.includes(MARKER)) {
  console.error(`demo: ${demo} exists and was not made by the demo (no ${MARKER} in it): move it away, nothing in it was changed`);
  process.exit(2);
}
fs.rmSync(demo, { recursive: true, force: true });
fs.mkdirSync(path.join(demo, 'tmp'), { recursive: true });
fs.writeFileSync(path.join(demo, MARKER), 'made by npm run demo: removed and made again by the next one\n');

const identity = { GIT_AUTHOR_NAME: 'Demo', GIT_AUTHOR_EMAIL: 'demo@example.invalid', GIT_COMMITTER_NAME: 'Demo', GIT_COMMITTER_EMAIL: 'demo@example.invalid' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: { ...process.env, ...identity }, stdio: 'pipe' });

const examples = {
  'demo/hello-npm': {
    'package.json': JSON.stringify({ name: 'hello-npm', version: '1.0.0', main: 'index.js' }, null, 2),
    'index.js': "module.exports = () => 'hello';\n",
  },
  'demo/hello-make': {
    Makefile: 'all:\n\tmkdir -p dist\n\techo "built by make" > dist/hello.txt\n',
  },
  'demo/hello-cargo': {
    'Cargo.toml': '[package]\nname = "hello-cargo"\nversion = "0.1.0"\nedition = "2021"\n',
    'src/main.rs': 'fn main() {\n    println!("hello");\n}\n',
  },
  'demo/broken-build': {
    Makefile: 'all:\n\t@echo "compiling..."\n\t@echo "error: something is wrong" >&2\n\t@exit 2\n',
  },
  'demo/docs-only': {
    'README.md': '# Nothing to build here\n',
  },
};

const rows = ['cloneUrl,branch,origin,path'];
for (const [name, files] of Object.entries(examples)) {
  const work = path.join(demo, 'src', name);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    fs.writeFileSync(path.join(work, file), content);
  }
  const bare = path.join(repos, `${name}.git`);
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'Initial commit');
  git(work, 'clone', '-q', '--bare', work, bare);
  rows.push(`${bare},main,demo.local,${name}`);
}
fs.writeFileSync(path.join(demo, 'repos.csv'), `${rows.join('\n')}\n`);

const env = {
  ...process.env,
  PUBLISH_URL: path.join(demo, 'artifacts'),
  MASS_INGEST_DATA_DIR: path.join(demo, 'db'),
  TMPDIR: path.join(demo, 'tmp'),
  npm_config_cache: path.join(demo, 'npm-cache'),
  // cargo keeps its package cache and lock under CARGO_HOME (~/.cargo): here, like the rest.
  CARGO_HOME: path.join(demo, 'cargo-home'),
  LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty',
};
const cli = path.join(root, 'dist', 'cli.js');
const processRun = spawnSync(process.execPath, [cli, 'process', path.join(demo, 'repos.csv'), '--workdir', path.join(demo, 'work'), '--concurrency', '2'], { env, stdio: 'inherit', cwd: root });
console.log(`\nmass-ingest process exited with ${processRun.status}; artifacts are in ${path.relative(root, path.join(demo, 'artifacts'))}\n`);
const report = spawnSync(process.execPath, [cli, 'report'], { env, stdio: 'inherit', cwd: root });
// The first that failed: the processor's exit code, else the report's.
process.exitCode = processRun.status !== 0 ? (processRun.status ?? 1) : (report.status ?? 1);
