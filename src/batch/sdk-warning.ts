/**
 * @aws-sdk 3.1138.0 warns once per process, on client construction, that releases after
 * January 2027 will need Node 22 (`NodeVersionSupportWarning`, emitted through
 * `process.emitWarning`). Our users run the Node 20 we ship, so the line is noise on their
 * stderr. Only that warning, and only while a client is being constructed, is dropped; every
 * other warning passes through.
 */
const SDK_NODE_VERSION_WARNING = /^NodeVersionSupportWarning\b/;

export function isSdkNodeVersionWarning(warning: unknown): boolean {
  return SDK_NODE_VERSION_WARNING.test(warning instanceof Error ? warning.message : String(warning));
}

export function withoutSdkNodeVersionWarning<T>(construct: () => T): T {
  const original = process.emitWarning;
  const filtered = function emitWarning(this: unknown, warning: string | Error, ...rest: unknown[]): void {
    if (isSdkNodeVersionWarning(warning)) return;
    (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return construct();
  } finally {
    process.emitWarning = original;
  }
}
