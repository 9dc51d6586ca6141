import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Apache ECharts, inlined into every HTML report from the installed package (pinned in
 * package.json), so a report opens from disk, S3 or an HTTP repository with no other request.
 */
export interface ChartLibrary {
  readonly name: string;
  readonly version: string;
  readonly source: string;
}

let cached: Promise<ChartLibrary> | undefined;

export function loadChartLibrary(): Promise<ChartLibrary> {
  cached ??= readLibrary().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function readLibrary(): Promise<ChartLibrary> {
  const require = createRequire(import.meta.url);
  try {
    const file = require.resolve('echarts/dist/echarts.min.js');
    const manifest = JSON.parse(await fs.readFile(path.join(path.dirname(file), '..', 'package.json'), 'utf8')) as { version?: string };
    return { name: 'Apache ECharts', version: String(manifest.version), source: await fs.readFile(file, 'utf8') };
  } catch (err) {
    throw new UsageError('report_chart_library', 'Cannot read echarts/dist/echarts.min.js from node_modules: reinstall with `npm ci`', [], err);
  }
}
