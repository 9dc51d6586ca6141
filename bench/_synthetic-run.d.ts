export interface SqlClient {
  query(text: string, params?: readonly unknown[]): Promise<{ rows: unknown[] }>;
}

export interface SyntheticRunOptions {
  partitionSize?: number;
  workers?: number;
  failedShare?: number;
  createdAt?: Date;
  trigger?: 'schedule' | 'manual' | 'local' | 'process';
  wave?: number;
}

export function insertSyntheticRun(db: SqlClient, runId: string, rows: number, options?: SyntheticRunOptions): Promise<void>;
