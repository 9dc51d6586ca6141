/**
 * Open files a processor may need: git's pipes, build logs, uploads and database connections for
 * every repository in flight (built, or cloned ahead), and the process's own. Below it, repositories
 * may meet the limit (`fd_exhausted`, src/pipeline/process-repository.ts): measured here (helper 47),
 * `--concurrency 4` failed so under a limit of 64 and ran under 320.
 */
export function descriptorsNeeded(concurrency: number, cloneAhead: number): number {
  return 64 + 32 * (concurrency + cloneAhead);
}
