import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client } from '../lambdas/shared/s3.ts';

/** The only credentials the embedded S3 server accepts. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  directory: string;
  client: S3Client;
  close(): Promise<void>;
}

/** An S3-compatible server on loopback storing under `directory` (objects as `<bucket>/<key>._S3rver_object`). */
export async function startS3Server(options: {
  directory: string;
  bucket: string;
  port?: number;
}): Promise<LocalS3> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    bucket: options.bucket,
    directory: options.directory,
    client: localS3Client(endpoint),
    close: () => server.close(),
  };
}

/** A client for an S3-compatible endpoint: path-style, env credentials or the embedded server's. */
export function localS3Client(endpoint: string): S3Client {
  const env = process.env;
  return createS3Client({
    endpoint,
    forcePathStyle: true,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          }
        : LOCAL_S3_CREDENTIALS,
  });
}
