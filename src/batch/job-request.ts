/** The SubmitJob fields mass-ingest uses (AWS Batch API reference, SubmitJob). */
export interface JobRequest {
  readonly jobName: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  readonly arrayProperties?: { readonly size: number };
  readonly parameters?: Readonly<Record<string, string>>;
  readonly containerOverrides?: { readonly command: readonly string[] };
  readonly dependsOn?: ReadonlyArray<{ readonly jobId: string }>;
}

export interface SubmittedJob {
  readonly jobId: string;
  readonly jobName: string;
}

/** SubmitJob's payload limit (AWS Batch service quotas: 30 KiB). */
export const MAX_SUBMIT_PAYLOAD_BYTES = 30 * 1024;

/** Bytes of the SubmitJob request body, as the SDK serialises it. */
export function payloadBytes(request: JobRequest): number {
  return Buffer.byteLength(JSON.stringify(request));
}
