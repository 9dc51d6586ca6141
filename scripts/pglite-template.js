#!/usr/bin/env node
// Builds dist/pglite-template: an initialised PGlite data directory that a fresh local run
// copies instead of running initdb (~8 s and ~850 MiB peak otherwise). Rebuilt only when the
// PGlite version changes.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'dist', 'pglite-template');
const require = createRequire(import.meta.url);
const version = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')).version;
const stamp = path.join(target, '.pglite-version');

if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === version) process.exit(0);

const { PGlite } = await import('@electric-sql/pglite');
const building = `${target}.building`;
fs.rmSync(building, { recursive: true, force: true });
const db = await PGlite.create(building);
await db.query('select 1');
await db.close();
fs.writeFileSync(path.join(building, '.pglite-version'), version);
fs.rmSync(target, { recursive: true, force: true });
fs.renameSync(building, target);
console.log(`pglite template ${version} written to dist/pglite-template`);
