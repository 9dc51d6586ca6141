import { describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors.js';
import { wrapQueryError } from '../../src/results/database.js';

/** An error as pg gives it: the server's SQLSTATE in `code`. */
const serverError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('wrapQueryError', () => {
  it('tells a database whose disk is full from one that cannot be reached, saying where to make room', () => {
    const full = wrapQueryError(serverError('53100', 'could not extend file "base/5/16449": No space left on device'));

    expect(full).toBeInstanceOf(InfrastructureError);
    expect(full).toMatchObject({
      code: 'db_disk_full',
      exitCode: 3,
      message: 'PostgreSQL has no disk space left (could not extend file "base/5/16449": No space left on device): free space where the database keeps its files (MASS_INGEST_DATA_DIR for the embedded database), then run again',
    });
  });

  it('keeps connection failures db_unreachable and passes a query\'s own errors through', () => {
    const unique = serverError('23505', 'duplicate key value violates unique constraint');

    expect([wrapQueryError(serverError('08006', 'Connection terminated unexpectedly')), wrapQueryError(serverError('53300', 'too many connections'))]).toMatchObject([
      { code: 'db_unreachable', exitCode: 3 },
      { code: 'db_unreachable', exitCode: 3 },
    ]);
    expect(wrapQueryError(unique)).toBe(unique);
  });

  it('keeps a certificate not trusted on a new connection mid-run db_unreachable: the rows are aborted, and the retried job meets db_tls when it opens', () => {
    const untrusted = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });

    expect(wrapQueryError(untrusted)).toMatchObject({ code: 'db_unreachable', exitCode: 3 });
  });
});
