import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../shared/errors.ts';
import {
  GROUP_FAILURE_SUFFIX,
  groupFailureKey,
  groupResultsKey,
  groupResultsKeyOfFailure,
  groupResultsPrefix,
  runOutputKey,
} from './layout.ts';
import { mapLimit } from './page-writer.ts';
import type { GroupFailure, GroupResults, GroupSummary, RunOutput } from './summarize.ts';

/**
 * Per-run bookkeeping beside the data: each group's window results, and the run's output, under
 * `<prefix>/_runs/run=<runId>/`. Outside every category's prefix, so no table reads it.
 */
export interface RunStoreRef {
  s3: S3Client;
  bucket: string;
  prefix: string;
}

async function put(ref: RunStoreRef, key: string, body: unknown): Promise<void> {
  try {
    await ref.s3.send(
      new PutObjectCommand({
        Bucket: ref.bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw new StorageError(`S3 PutObject ${key} failed: ${(error as Error).name}`, { cause: error });
  }
}

export async function writeGroup(
  ref: RunStoreRef,
  group: GroupResults,
  summary: GroupSummary,
): Promise<string> {
  const key = groupResultsKey(ref.prefix, group.runId, group);
  await put(ref, key, { summary, results: group.results });
  return key;
}

/**
 * A group that failed as a whole, under a key of its own: a failure that came from writing the
 * group's record cannot stop its failure record, and a later success (a redrive) wins over it.
 */
export async function writeGroupFailure(
  ref: RunStoreRef,
  failure: GroupFailure,
  summary: GroupSummary,
): Promise<string> {
  const key = groupFailureKey(ref.prefix, failure.runId, failure);
  await put(ref, key, { summary, error: failure.error });
  return key;
}

/** Every group summary the run's children wrote. */
export async function readGroupSummaries(ref: RunStoreRef, runId: string): Promise<GroupSummary[]> {
  const prefix = groupResultsPrefix(ref.prefix, runId);
  const keys: string[] = [];
  try {
    for await (const page of paginateListObjectsV2(
      { client: ref.s3 },
      { Bucket: ref.bucket, Prefix: prefix },
    )) {
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    }
    // A group's success record wins over its failure record.
    const failed = (k: string) => k.endsWith(GROUP_FAILURE_SUFFIX);
    const succeeded = new Set(keys.filter((k) => !failed(k)));
    const current = keys.filter((k) => !failed(k) || !succeeded.has(groupResultsKeyOfFailure(k)));
    return await mapLimit(current, 16, async (key) => {
      const res = await ref.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: key }));
      const body = JSON.parse(
        await (res.Body as { transformToString(): Promise<string> }).transformToString(),
      );
      return body.summary as GroupSummary;
    });
  } catch (error) {
    throw new StorageError(`S3 read of ${prefix} failed: ${(error as Error).name}`, { cause: error });
  }
}

export async function writeRunOutput(ref: RunStoreRef, runId: string, output: RunOutput): Promise<string> {
  const key = runOutputKey(ref.prefix, runId);
  await put(ref, key, output);
  return key;
}
