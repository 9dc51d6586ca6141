/**
 * A Python package whose PEP 517 backend lives in the repository and needs nothing installed, so
 * pip builds it (isolated, as for any package) with no index: no network in the tests that build
 * it (test/commands/process-python.test.ts on the host, test/container/ in the image).
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

export const PYTHON_PACKAGE: Readonly<Record<string, string>> = {
  'pyproject.toml': '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n[project]\nname = "greeting"\nversion = "0.1"\n',
  'backend.py': BACKEND,
  'greeting/__init__.py': 'HELLO = "hello"\n',
  // A Makefile for development chores: the package is what gets built.
  Makefile: 'all:\n\t@echo "make is not the build" && exit 1\n',
};

/** The wheel PYTHON_PACKAGE builds. */
export const PYTHON_WHEEL = 'greeting-0.1-py3-none-any.whl';
