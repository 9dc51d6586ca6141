import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { FileDigests } from './store.js';

/** sha256 (manifest), sha1 and md5 (Maven and Artifactory) in one streaming pass. */
export async function digestFile(file: string): Promise<FileDigests> {
  const hashes = { sha256: createHash('sha256'), sha1: createHash('sha1'), md5: createHash('md5') };
  let size = 0;
  await pipeline(
    fs.createReadStream(file),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        hashes.sha256.update(chunk);
        hashes.sha1.update(chunk);
        hashes.md5.update(chunk);
        callback();
      },
    }),
  );
  return { size, sha256: hashes.sha256.digest('hex'), sha1: hashes.sha1.digest('hex'), md5: hashes.md5.digest('hex') };
}

export function digestBytes(body: Buffer): FileDigests {
  const hex = (algorithm: string) => createHash(algorithm).update(body).digest('hex');
  return { size: body.length, sha256: hex('sha256'), sha1: hex('sha1'), md5: hex('md5') };
}
