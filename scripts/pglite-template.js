#!/usr/bin/env node
// Builds dist/pglite-template: an initialised and migrated PGlite data directory that a fresh
// local run copies instead of running initdb (~6-8 s and ~850 MiB peak otherwise) and the
// migrations. Rebuilt when the PGlite version or the set of migrations changes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'dist', 'pglite-template');
const require = createRequire(import.meta.url);
const version = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')).version;
const migrations = fs.readdirSync(path.join(root, 'migrations')).filter((name) => name.endsWith('.sql')).sort();
// The files' contents count too: an edited migration (while it is being written) rebuilds the template.
const contents = createHash('sha256');
for (const name of migrations) contents.update(name).update('\0').update(fs.readFileSync(path.join(root, 'migrations', name))).update('\0');
const stampText = JSON.stringify({ pglite: version, migrations, sha256: contents.digest('hex'), databases: ['postgres'] });
const stamp = path.join(target, '.template-stamp');

if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === stampText) process.exit(0);

// The old template must not seed the new one.
fs.rmSync(target, { recursive: true, force: true });
const building = `${target}.building`;
fs.rmSync(building, { recursive: true, force: true });
const { openDatabase } = await import(path.join(root, 'dist', 'results', 'database.js'));
const { pino } = await import('pino');
const database = await openDatabase({ databaseUrl: undefined, dataDir: building }, pino({ level: 'warn' }));
// Only the `postgres` database is used (PGlite's default). initdb's template0 and template1 are 600
// of the directory's 1,000 files and 14 of its 39 MB, which every fresh local run would copy.
for (const name of ['template1', 'template0']) {
  await database.query(`ALTER DATABASE ${name} IS_TEMPLATE false`, []);
  await database.query(`DROP DATABASE ${name}`, []);
}
await database.close();
fs.writeFileSync(path.join(building, '.template-stamp'), stampText);
fs.renameSync(building, target);
console.log(`pglite template ${version} with ${migrations.length} migrations written to dist/pglite-template`);
