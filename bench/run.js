#!/usr/bin/env node
// `npm run bench -- <name>`: runs bench/<name>.js (processor, publish, chunk, discover, report, db-startup, recording).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = fs.readdirSync(here).filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_')).map((f) => f.slice(0, -3));
const names = process.argv.slice(2);
if (names.length === 0 || names.some((n) => !available.includes(n))) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [...]`);
  process.exit(2);
}
for (const name of names) {
  console.log(`\n== bench ${name} ==`);
  await import(path.join(here, `${name}.js`));
}
