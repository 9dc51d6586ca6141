import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../harness/cli.js';
import { createTempDir, type TempDir } from '../harness/tmp.js';
import { makeFixture, openForAssertions, resultRows, type Fixture } from './process-fixtures.js';

/**
 * A Python package whose PEP 517 backend lives in the repository and needs nothing installed, so
 * pip builds it (isolated, as for any package) with no index: no network here.
 */
const BACKEND = [
  'import base64, hashlib, os, zipfile',
  "NAME, VERSION = 'greeting', '0.1'",
  "INFO = f'{NAME}-{VERSION}.dist-info'",
  '',
  'def _record(path, data):',
  "    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()",
  "    return f'{path},sha256={digest},{len(data)}'",
  '',
  'def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):',
  "    files = {f'{NAME}/__init__.py': open(os.path.join(NAME, '__init__.py'), 'rb').read(),",
  "             f'{INFO}/METADATA': f'Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n'.encode(),",
  "             f'{INFO}/WHEEL': b'Wheel-Version: 1.0\\nGenerator: backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}",
  "    name = f'{NAME}-{VERSION}-py3-none-any.whl'",
  "    with zipfile.ZipFile(os.path.join(wheel_directory, name), 'w') as wheel:",
  '        for path, data in files.items():',
  '            wheel.writestr(path, data)',
  "        wheel.writestr(f'{INFO}/RECORD', '\\n'.join([_record(p, d) for p, d in files.items()] + [f'{INFO}/RECORD,,']) + '\\n')",
  '    return name',
  '',
].join('\n');

const PYTHON_PACKAGE = {
  'pyproject.toml': '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n[project]\nname = "greeting"\nversion = "0.1"\n',
  'backend.py': BACKEND,
  'greeting/__init__.py': 'HELLO = "hello"\n',
  // A Makefile for development chores: the package is what gets built.
  Makefile: 'all:\n\t@echo "make is not the build" && exit 1\n',
};

let tmp: TempDir;
let fixture: Fixture;

beforeAll(async () => {
  tmp = await createTempDir('mass-ingest-python-');
  fixture = await makeFixture(tmp.path, [['acme/greeting', PYTHON_PACKAGE]]);
});

afterAll(async () => {
  await tmp?.remove();
});

describe('mass-ingest process with a Python package', () => {
  it('builds a wheel with pip and publishes it', async () => {
    const env = baseEnv({ MASS_INGEST_DATA_DIR: path.join(tmp.path, 'db'), PUBLISH_URL: path.join(tmp.path, 'artifacts'), MASS_INGEST_WORKDIR: path.join(tmp.path, 'work'), PIP_NO_INDEX: '1' });

    const result = await runCli(['process', fixture.inventory, '--run-id', 'python'], { env });

    expect(result.code).toBe(0);
    const db = await openForAssertions({ dataDir: path.join(tmp.path, 'db') });
    try {
      expect((await resultRows(db, 'python')).map((row) => [row.path, row.outcome, row.error_code])).toEqual([['acme/greeting', 'published', null]]);
    } finally {
      await db.close();
    }
    const dir = path.join(tmp.path, 'artifacts', 'local.test', 'acme', 'greeting', fixture.repos['acme/greeting']!.headSha);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ builder: 'python', artifacts: [{ name: 'greeting-0.1-py3-none-any.whl' }] });
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', path.join(dir, 'greeting-0.1-py3-none-any.whl')], { encoding: 'utf8' });
    expect(listing).toContain('greeting/__init__.py');
  });
});
