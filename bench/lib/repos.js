// Local bare repositories and a repos.csv over them (file:// URLs, so `--depth 1` is honoured
// and git talks to upload-pack as it would over the network, not a hard-link copy).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runChecked } from './common.js';

/** A Makefile whose build is cheap: copies the sources to dist/ (artifacts: dist/*, files only). */
export const CHEAP_MAKEFILE = 'all:\n\tmkdir -p dist && cp -r src/. dist/\n';
/** The same, after sleeping one second (a build that waits, for the concurrency bench). */
export const SLEEPY_MAKEFILE = 'all:\n\tsleep 1\n\tmkdir -p dist && cp -r src/. dist/\n';

function sourcesOf(index, makefile) {
  return {
    Makefile: makefile,
    'src/hello.txt': `hello from repository ${index}\n`,
    'src/lib.js': `export const id = ${index};\n`,
    'README.md': `# bench repository ${index}\n`,
  };
}

function writeFiles(dir, files) {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
}

/**
 * Creates `count` bare repositories `<root>/<set>/rNN.git` (branch main, one commit) and
 * `<root>/<set>.csv` listing them. Returns the inventory path and the repositories.
 */
export async function createRepoSet(root, set, count, makefile, env) {
  const repos = [];
  const rows = ['cloneUrl,branch,origin,path'];
  for (let index = 1; index <= count; index++) {
    const name = `r${String(index).padStart(2, '0')}`;
    const work = path.join(root, `${set}-work`, name);
    const bare = path.join(root, set, `${name}.git`);
    writeFiles(work, sourcesOf(index, makefile));
    const git = (...args) => runChecked('git', args, { cwd: work, env });
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'Initial commit');
    await git('init', '-q', '--bare', '-b', 'main', bare);
    await git('push', '-q', bare, 'main');
    const url = pathToFileURL(bare).href;
    repos.push({ name, work, bare, url });
    rows.push(`${url},main,bench.local,${set}/${name}`);
  }
  const inventory = path.join(root, `${set}.csv`);
  fs.writeFileSync(inventory, `${rows.join('\n')}\n`);
  return { inventory, repos };
}

/** A new commit on the repository's main branch (the incremental bench's "changed" repository). */
export async function commitChange(repo, env) {
  fs.appendFileSync(path.join(repo.work, 'src', 'hello.txt'), `changed at ${new Date().toISOString()}\n`);
  const git = (...args) => runChecked('git', args, { cwd: repo.work, env });
  await git('commit', '-q', '-am', 'Change');
  await git('push', '-q', repo.bare, 'main');
}

/**
 * The baseline of the overhead bench: a plain bash loop doing what the processor does for one
 * repository — shallow single-branch clone, the same `make`, copy the artifacts, delete the clone.
 */
export function bashLoopScript(urls, workdir, outdir) {
  return [
    'set -e',
    `work=${JSON.stringify(workdir)}; out=${JSON.stringify(outdir)}; i=0`,
    `for url in ${urls.map((u) => JSON.stringify(u)).join(' ')}; do`,
    '  i=$((i+1)); d="$work/$i"',
    '  git clone -q --depth 1 --single-branch --branch main "$url" "$d"',
    '  make -s -C "$d" >/dev/null',
    '  mkdir -p "$out/$i" && cp -r "$d"/dist/. "$out/$i/"',
    '  rm -rf "$d"',
    'done',
  ].join('\n');
}
