import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A self-signed certificate for 127.0.0.1 (openssl), for servers the client must not trust by default. */
export function selfSignedCertificate(dir: string): { key: string; cert: string; certFile: string; keyFile: string } {
  const keyFile = path.join(dir, 'tls-key.pem');
  const certFile = path.join(dir, 'tls-cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile, keyFile };
}
