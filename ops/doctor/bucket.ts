/**
 * The doctor's checks of the bucket: reachable, writable under the prefix (a probe object written
 * and deleted, its key from the layout module), and encrypted and versioned as the stack sets it.
 */
import {
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { doctorProbeKey, rootOf } from '../../lambdas/core/layout.ts';
import { type Check, fail, pass } from './report.ts';

export interface BucketTarget {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  prefix: string;
  /**
   * `embedded`: the local S3 server `npm run doctor` started (no encryption or versioning to check);
   * `endpoint`: an S3-compatible server (`--s3-endpoint`), where the stack's settings are not required;
   * `aws`: an S3 bucket, which should be encrypted and versioned as the stack's own bucket is.
   */
  kind: 'embedded' | 'endpoint' | 'aws';
  /** Printed with the bucket: the endpoint URL, or the stack output it came from. */
  where?: string;
}

export interface BucketCheckDeps {
  /** Names the probe object; unique per doctor run so two runs never share one. */
  probeId: string;
  now: Date;
}

const SUBJECT = 'bucket';

interface S3Failure {
  name: string;
  status: number | undefined;
  /** A network error's code, e.g. ECONNREFUSED. */
  code: string | undefined;
}

function s3Failure(error: unknown): S3Failure {
  const e = error as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return { name: e.Code ?? e.name ?? 'Error', status: e.$metadata?.httpStatusCode, code: e.code };
}

const describe = (f: S3Failure) =>
  f.status ? `${f.status} ${f.name}` : f.code ? `${f.name} (${f.code})` : f.name;

function notImplemented(f: S3Failure): boolean {
  return f.status === 501 || f.name === 'NotImplemented';
}

function accessDenied(f: S3Failure): boolean {
  return f.status === 403 || f.name === 'AccessDenied' || f.name === 'Forbidden';
}

/** The whole bucket: later checks only run when the bucket answers. */
export async function checkBucket(t: BucketTarget, deps: BucketCheckDeps): Promise<Check[]> {
  const reachable = await checkReachable(t);
  if (!reachable.ok) return [reachable];
  return [reachable, await checkWritable(t, deps), await checkEncryption(t), await checkVersioning(t)];
}

export async function checkReachable(t: BucketTarget): Promise<Check> {
  const at = t.where ? ` (${t.where})` : '';
  try {
    await t.s3.send(new HeadBucketCommand({ Bucket: t.bucket }));
    return pass(SUBJECT, 'reachable', `s3://${t.bucket} answers${at}`);
  } catch (error) {
    const f = s3Failure(error);
    const detail = `s3://${t.bucket}${at}`;
    if (f.status === 404 || f.name === 'NotFound' || f.name === 'NoSuchBucket') {
      return fail(
        SUBJECT,
        'reachable',
        detail,
        'the bucket does not exist',
        t.kind === 'aws'
          ? 'deploy the stack (npx cdk deploy), set bucketName in cdk.json to an existing bucket, or pass the right --bucket'
          : 'pass the right --bucket, or create it (npm start creates a missing bucket on an S3-compatible endpoint)',
      );
    }
    if (accessDenied(f)) {
      return fail(
        SUBJECT,
        'reachable',
        detail,
        `HeadBucket answered ${describe(f)}`,
        `give your credentials s3:ListBucket on ${t.bucket} (and check AWS_PROFILE/AWS_REGION)`,
      );
    }
    if (f.status === 301 || f.name === 'PermanentRedirect') {
      return fail(
        SUBJECT,
        'reachable',
        detail,
        'the bucket is in another region',
        "set AWS_REGION to the bucket's region",
      );
    }
    if (f.name === 'CredentialsProviderError') {
      return fail(
        SUBJECT,
        'reachable',
        detail,
        'no AWS credentials found',
        'set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION',
      );
    }
    return fail(
      SUBJECT,
      'reachable',
      detail,
      `HeadBucket failed: ${describe(f)}`,
      t.kind === 'aws'
        ? 'check the network path to S3 and AWS_REGION'
        : 'check --s3-endpoint: is the server up?',
    );
  }
}

/** A probe object written under the prefix (only if absent, as the page writer writes) and deleted. */
export async function checkWritable(t: BucketTarget, deps: BucketCheckDeps): Promise<Check> {
  const key = doctorProbeKey(t.prefix, deps.probeId);
  const under = `s3://${t.bucket}/${rootOf(t.prefix)}`;
  const grant = `arn:aws:s3:::${t.bucket}/${rootOf(t.prefix)}*`;
  try {
    await t.s3.send(
      new PutObjectCommand({
        Bucket: t.bucket,
        Key: key,
        Body: JSON.stringify({ probe: 'npm run doctor', at: deps.now.toISOString() }),
        ContentType: 'application/json',
        IfNoneMatch: '*',
      }),
    );
  } catch (error) {
    const f = s3Failure(error);
    return fail(
      SUBJECT,
      'writable',
      under,
      `cannot write under it: PutObject ${key} answered ${describe(f)}`,
      accessDenied(f)
        ? `allow s3:PutObject and s3:DeleteObject on ${grant} for your credentials (the deployed functions get their own grants from the stack)`
        : 'check the bucket and the endpoint, then run npm run doctor again',
    );
  }
  try {
    await t.s3.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
  } catch (error) {
    const f = s3Failure(error);
    return fail(
      SUBJECT,
      'writable',
      under,
      `wrote ${key} but could not delete it: DeleteObject answered ${describe(f)}`,
      `allow s3:DeleteObject on ${grant} (each run removes superseded fetches), then delete the probe: aws s3 rm s3://${t.bucket}/${key}`,
    );
  }
  return pass(SUBJECT, 'writable', `${under} writable (wrote and deleted ${key})`);
}

export async function checkEncryption(t: BucketTarget): Promise<Check> {
  if (t.kind === 'embedded')
    return pass(SUBJECT, 'encryption', 'encryption: not checked (embedded S3 server)');
  try {
    const res = await t.s3.send(new GetBucketEncryptionCommand({ Bucket: t.bucket }));
    const algorithm =
      res.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
    if (algorithm) return pass(SUBJECT, 'encryption', `encryption: ${algorithm} by default`);
    return unencrypted(t);
  } catch (error) {
    const f = s3Failure(error);
    if (f.name === 'ServerSideEncryptionConfigurationNotFoundError') return unencrypted(t);
    if (notImplemented(f)) {
      return pass(
        SUBJECT,
        'encryption',
        'encryption: not checked (the endpoint does not implement GetBucketEncryption)',
      );
    }
    return pass(
      SUBJECT,
      'encryption',
      `encryption: not checked (GetBucketEncryption answered ${describe(f)}; it needs s3:GetEncryptionConfiguration)`,
    );
  }
}

function unencrypted(t: BucketTarget): Check {
  if (t.kind === 'endpoint') {
    return pass(
      SUBJECT,
      'encryption',
      'encryption: none by default (an S3-compatible endpoint; the stack encrypts its bucket with SSE-S3)',
    );
  }
  return fail(
    SUBJECT,
    'encryption',
    'encryption',
    `s3://${t.bucket} has no default encryption (the stack's bucket uses SSE-S3)`,
    `aws s3api put-bucket-encryption --bucket ${t.bucket} --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'`,
  );
}

export async function checkVersioning(t: BucketTarget): Promise<Check> {
  if (t.kind === 'embedded')
    return pass(SUBJECT, 'versioning', 'versioning: not checked (embedded S3 server)');
  let status: string | undefined;
  try {
    status = (await t.s3.send(new GetBucketVersioningCommand({ Bucket: t.bucket }))).Status;
  } catch (error) {
    const f = s3Failure(error);
    return pass(
      SUBJECT,
      'versioning',
      notImplemented(f)
        ? 'versioning: not checked (the endpoint does not implement GetBucketVersioning)'
        : `versioning: not checked (GetBucketVersioning answered ${describe(f)}; it needs s3:GetBucketVersioning)`,
    );
  }
  if (status === 'Enabled') return pass(SUBJECT, 'versioning', 'versioning: enabled');
  const state = status === 'Suspended' ? 'suspended' : 'off';
  if (t.kind === 'endpoint') {
    return pass(
      SUBJECT,
      'versioning',
      `versioning: ${state} (an S3-compatible endpoint; the stack versions its bucket)`,
    );
  }
  return fail(
    SUBJECT,
    'versioning',
    'versioning',
    `${state} on s3://${t.bucket}: the fetches a run removes cannot be recovered (the stack's bucket keeps them 30 days as noncurrent versions)`,
    `aws s3api put-bucket-versioning --bucket ${t.bucket} --versioning-configuration Status=Enabled, with a lifecycle rule expiring noncurrent versions`,
  );
}
