import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * The S3 client the Lambdas and the local runner share. Checksums only where S3 requires them:
 * bodies are small Buffers, and S3-compatible servers used locally mishandle the streaming
 * checksum trailers of newer SDKs.
 */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  });
}
