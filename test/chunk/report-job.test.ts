import { describe, expect, it } from 'vitest';
import type { JobRequest, SubmittedJob } from '../../src/batch/job-request.js';
import { submitReportJob, topLevelJobIds } from '../../src/chunk/report-job.js';

function recordingSubmitter() {
  const requests: JobRequest[] = [];
  return {
    requests,
    submit: async (request: JobRequest): Promise<SubmittedJob> => {
      requests.push(request);
      return { jobId: `id-${request.jobName}`, jobName: request.jobName };
    },
  };
}

const base = { runId: 'r1', jobQueue: 'q', jobDefinition: 'report', existing: new Map<string, string>() };

describe('submitReportJob', () => {
  it('depends directly on up to 20 processor jobs', async () => {
    const submitter = recordingSubmitter();

    const result = await submitReportJob({ ...base, dependencies: ['a', 'b'] }, submitter);

    expect(result).toEqual({ jobId: 'id-r1-report', barriers: 0, submitted: 1 });
    expect(submitter.requests).toEqual([
      { jobName: 'r1-report', jobQueue: 'q', jobDefinition: 'report', containerOverrides: { command: ['report', '--run', 'r1', '--format', 'html', '--publish'] }, dependsOn: [{ jobId: 'a' }, { jobId: 'b' }] },
    ]);
  });

  it('waits on 401 jobs through two levels of barriers, none depending on more than 20', async () => {
    const submitter = recordingSubmitter();
    const dependencies = Array.from({ length: 401 }, (_, i) => `j${i}`);

    const result = await submitReportJob({ ...base, dependencies }, submitter);

    expect(result.barriers).toBe(21 + 2);
    expect(submitter.requests.every((r) => (r.dependsOn?.length ?? 0) <= 20)).toBe(true);
    const levelZero = submitter.requests.filter((r) => r.jobName.startsWith('r1-w0-'));
    expect(levelZero.flatMap((r) => r.dependsOn?.map((d) => d.jobId))).toEqual(dependencies);
    expect(submitter.requests.at(-1)?.dependsOn).toEqual([{ jobId: 'id-r1-w1-0' }, { jobId: 'id-r1-w1-1' }]);
  });

  it('reuses jobs an earlier attempt submitted, by name', async () => {
    const submitter = recordingSubmitter();

    const result = await submitReportJob({ ...base, dependencies: ['a'], existing: new Map([['r1-report', 'old']]) }, submitter);

    expect(result).toEqual({ jobId: 'old', barriers: 0, submitted: 0 });
    expect(submitter.requests).toEqual([]);
  });
});

describe('topLevelJobIds', () => {
  it('depends on an array through its parent, once', () => {
    expect(topLevelJobIds(['A:0', 'A:1', 'B', 'C:0'])).toEqual(['A', 'B', 'C']);
  });
});
