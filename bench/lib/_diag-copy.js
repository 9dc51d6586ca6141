import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { DIST } from './common.js';
const tpl = path.join(DIST, 'pglite-template');
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
async function parallelCopy(src, dst) {
  const entries = await fs.promises.readdir(src, { recursive: true, withFileTypes: true });
  const dirs = new Set([dst]);
  for (const e of entries) if (e.isDirectory()) dirs.add(path.join(dst, path.relative(src, path.join(e.parentPath ?? e.path, e.name))));
  for (const d of [...dirs].sort()) fs.mkdirSync(d, { recursive: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
  for (let i = 0; i < files.length; i += 64) await Promise.all(files.slice(i, i + 64).map((f) => fs.promises.copyFile(f, path.join(dst, path.relative(src, f)))));
}
const variants = {
  'fs.promises.cp': (d) => fs.promises.cp(tpl, d, { recursive: true }),
  'fs.cpSync': async (d) => fs.cpSync(tpl, d, { recursive: true }),
  'cp -a (child)': async (d) => execFileSync('cp', ['-a', tpl, d]),
  'copyFile x64 parallel': (d) => parallelCopy(tpl, d),
};
for (let round = 0; round < 3; round++) for (const [name, fn] of Object.entries(variants)) {
  const d = `/tmp/diag-copy-${round}-${name.replace(/\W/g, '')}`;
  const c0 = cpu(); const t0 = performance.now();
  await fn(d);
  if (round === 2) console.log(name.padEnd(24), 'wall', (performance.now() - t0).toFixed(0).padStart(5), 'cpu(node)', (cpu() - c0).toFixed(0).padStart(5));
  fs.rmSync(d, { recursive: true, force: true });
}
console.log('files', fs.readdirSync(tpl, { recursive: true }).length, 'load', fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
