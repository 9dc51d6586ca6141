import { describe, expect, it } from 'vitest';
import { artifactDirOf, artifactFileNames, coordinatesOf, parseMetadataVersions, renderMetadata, splitExtension, versionOf } from '../../src/artifacts/maven-metadata.js';

describe('coordinatesOf', () => {
  it('reverses the origin labels and appends the owner to make the group', () => {
    const examples = [
      coordinatesOf({ origin: 'github.com', path: 'acme/widget' }),
      coordinatesOf({ origin: 'gitlab.example.org:8443', path: 'team/sub/tool' }),
      coordinatesOf({ origin: 'Git.Example.com', path: 'solo' }),
    ];

    expect(examples).toEqual([
      { groupId: 'com.github.acme', artifactId: 'widget' },
      { groupId: 'org.example.gitlab.team.sub', artifactId: 'tool' },
      { groupId: 'com.example.git', artifactId: 'solo' },
    ]);
    expect(artifactDirOf(examples[0]!)).toBe('com/github/acme/widget');
  });
});

describe('versionOf', () => {
  it('is <yyyyMMdd.HHmmss>-<sha7> in UTC', () => {
    const version = versionOf(new Date('2026-03-04T05:06:07.890Z'), '0123456789abcdef0123456789abcdef01234567');

    expect(version).toBe('20260304.050607-0123456');
  });
});

describe('artifactFileNames', () => {
  it('names a single artifact <artifactId>-<version>.<ext>', () => {
    const names = artifactFileNames(['widget-1.0.jar'], 'widget', 'V');

    expect([...names]).toEqual([['widget-1.0.jar', 'widget-V.jar']]);
  });

  it('gives each of several artifacts a classifier from its base name', () => {
    const names = artifactFileNames(['widget.jar', 'widget-sources.jar', 'cli.tar.gz', 'tool', 'a b.zip'], 'widget', 'V');

    expect([...names.values()]).toEqual(['widget-V-widget.jar', 'widget-V-widget-sources.jar', 'widget-V-cli.tar.gz', 'widget-V-tool.bin', 'widget-V-a_b.zip']);
  });

  it('keeps names unique when classifiers collide and never takes the layout files', () => {
    const names = artifactFileNames(['a b.zip', 'a_b.zip', 'build.log'], 'w', 'V');
    const pom = artifactFileNames(['project.pom'], 'w', 'V');

    expect([...names.values()]).toEqual(['w-V-a_b.zip', 'w-V-a_b-2.zip', 'w-V-build-2.log']);
    expect([...pom.values()]).toEqual(['w-V-2.pom']);
  });
});

describe('splitExtension', () => {
  it('knows compound tar extensions and gives extensionless files bin', () => {
    const parts = ['lib.tar.gz', 'app.jar', 'tool', '.hidden'].map(splitExtension);

    expect(parts).toEqual([
      { base: 'lib', extension: 'tar.gz' },
      { base: 'app', extension: 'jar' },
      { base: 'tool', extension: 'bin' },
      { base: '.hidden', extension: 'bin' },
    ]);
  });
});

describe('maven-metadata.xml', () => {
  it('adds a version to the listed ones and makes it latest and release', () => {
    const coordinates = { groupId: 'com.github.acme', artifactId: 'widget' };
    const first = renderMetadata(coordinates, [], '20260101.000000-aaaaaaa', new Date('2026-01-01T00:00:00Z'));

    const second = renderMetadata(coordinates, parseMetadataVersions(first), '20260102.000000-bbbbbbb', new Date('2026-01-02T10:11:12Z'));

    expect(parseMetadataVersions(second)).toEqual(['20260101.000000-aaaaaaa', '20260102.000000-bbbbbbb']);
    expect(second).toContain('<groupId>com.github.acme</groupId>');
    expect(second).toContain('<latest>20260102.000000-bbbbbbb</latest>');
    expect(second).toContain('<release>20260102.000000-bbbbbbb</release>');
    expect(second).toContain('<lastUpdated>20260102101112</lastUpdated>');
  });

  it('reads the versions of metadata written by Maven itself', () => {
    const xml = `<?xml version="1.0"?><metadata><groupId>g</groupId><artifactId>a</artifactId><versioning><release>1.1</release>
      <versions>
        <version>1.0</version>
        <version> 1.1 </version>
      </versions></versioning></metadata>`;

    expect(parseMetadataVersions(xml)).toEqual(['1.0', '1.1']);
  });
});
