/**
 * Maven coordinates, file names and `maven-metadata.xml` for the maven layout (DESIGN §6).
 * Format: https://maven.apache.org/repositories/metadata.html (artifact-level metadata).
 */
export interface MavenCoordinates {
  readonly groupId: string;
  readonly artifactId: string;
}

/** `github.com` + `acme/widget` → `com.github.acme:widget`; a port in the origin is dropped. */
export function coordinatesOf(repository: { origin: string; path: string }): MavenCoordinates {
  const labels = repository.origin.replace(/:\d+$/, '').toLowerCase().split('.').filter(Boolean).reverse();
  const segments = repository.path.split('/').filter(Boolean);
  const artifactId = segments.pop() ?? 'unnamed';
  return { groupId: [...labels, ...segments].join('.'), artifactId };
}

/** `<yyyyMMdd.HHmmss>-<sha7>` in UTC: versions of one artifact sort by publish time. */
export function versionOf(publishedAt: Date, commitSha: string): string {
  const iso = publishedAt.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}.${iso.slice(11, 19).replace(/:/g, '')}-${commitSha.slice(0, 7)}`;
}

/** The directory of one artifact (`com/github/acme/widget`), where maven-metadata.xml lives. */
export function artifactDirOf(coordinates: MavenCoordinates): string {
  return `${coordinates.groupId.replace(/\./g, '/')}/${coordinates.artifactId}`;
}

const COMPOUND_EXTENSIONS = ['tar.gz', 'tar.bz2', 'tar.xz', 'tar.zst'];

/** `lib.tar.gz` → { base: 'lib', extension: 'tar.gz' }; a name without one gets `bin`. */
export function splitExtension(name: string): { base: string; extension: string } {
  const compound = COMPOUND_EXTENSIONS.find((extension) => name.toLowerCase().endsWith(`.${extension}`));
  const match = compound ? [name, name.slice(0, -compound.length - 1), name.slice(-compound.length)] : /^(.+)\.([A-Za-z0-9]+)$/.exec(name);
  if (!match?.[1] || !match[2]) return { base: name, extension: 'bin' };
  return { base: match[1], extension: match[2] };
}

/**
 * The file name of each artifact in the version directory: `<artifactId>-<version>.<ext>` for a
 * single artifact; with several, each gets a classifier from its base name so names stay unique.
 * The layout's own files (POM, build log, manifest) are never taken by an artifact.
 */
export function artifactFileNames(names: readonly string[], artifactId: string, version: string): Map<string, string> {
  const prefix = `${artifactId}-${version}`;
  const taken = new Set([pomFileName(artifactId, version), `${prefix}-build.log`, `${prefix}-manifest.json`]);
  const files = new Map<string, string>();
  for (const name of names) {
    const { base, extension } = splitExtension(name);
    const classifier = names.length === 1 ? '' : base.replace(/[^A-Za-z0-9._-]/g, '_');
    let file = `${prefix}${classifier ? `-${classifier}` : ''}.${extension}`;
    for (let n = 2; taken.has(file); n += 1) file = `${prefix}-${classifier ? `${classifier}-` : ''}${n}.${extension}`;
    taken.add(file);
    files.set(name, file);
  }
  return files;
}

export function pomFileName(artifactId: string, version: string): string {
  return `${artifactId}-${version}.pom`;
}

/** The versions listed in a maven-metadata.xml, in document order. */
export function parseMetadataVersions(xml: string): string[] {
  const block = /<versions>([\s\S]*?)<\/versions>/.exec(xml)?.[1] ?? '';
  return [...block.matchAll(/<version>\s*([^<]*?)\s*<\/version>/g)].map((match) => unescapeXml(match[1] ?? '')).filter(Boolean);
}

/** Adds `version` (now the latest and the release) to the listed ones; `lastUpdated` is yyyyMMddHHmmss UTC. */
export function renderMetadata(coordinates: MavenCoordinates, listed: readonly string[], version: string, now: Date): string {
  const versions = listed.includes(version) ? [...listed] : [...listed, version];
  const lastUpdated = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<metadata modelVersion="1.1.0">',
    `  <groupId>${escapeXml(coordinates.groupId)}</groupId>`,
    `  <artifactId>${escapeXml(coordinates.artifactId)}</artifactId>`,
    '  <versioning>',
    `    <latest>${escapeXml(version)}</latest>`,
    `    <release>${escapeXml(version)}</release>`,
    '    <versions>',
    ...versions.map((item) => `      <version>${escapeXml(item)}</version>`),
    '    </versions>',
    `    <lastUpdated>${lastUpdated}</lastUpdated>`,
    '  </versioning>',
    '</metadata>',
    '',
  ].join('\n');
}

/** A minimal POM, so Maven and Gradle resolve the coordinates without "POM missing" fallbacks. */
export function renderPom(coordinates: MavenCoordinates, version: string, packaging: string, description: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">',
    '  <modelVersion>4.0.0</modelVersion>',
    `  <groupId>${escapeXml(coordinates.groupId)}</groupId>`,
    `  <artifactId>${escapeXml(coordinates.artifactId)}</artifactId>`,
    `  <version>${escapeXml(version)}</version>`,
    `  <packaging>${escapeXml(packaging)}</packaging>`,
    `  <description>${escapeXml(description)}</description>`,
    '</project>',
    '',
  ].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
