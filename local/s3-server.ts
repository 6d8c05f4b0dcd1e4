import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;
const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js') as S3ErrorClass;

interface StoredObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}

interface Store {
  getMetadata(bucket: string, key: string): Promise<{ etag?: string }>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

/**
 * s3rver's own putObject writes the object's file in place (and answers before a Buffer body is even
 * flushed): a reader of the directory, such as `npm run query`, could see half an object. This one
 * writes a temporary file and renames it over the object's: the object's file is always whole.
 */
function atomicPutObject(store: Store): Store['putObject'] {
  return async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    const tmp = `${objectPath}.${randomUUID()}.tmp`;
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(content, count, createWriteStream(tmp));
      const digest = md5.digest('hex');
      await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      await rename(tmp, objectPath);
      return { size, md5: digest };
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  };
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  get(header: string): string;
  req: { resume(): void };
  res: { once(event: 'close', listener: () => void): void };
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/**
 * One writer or many readers at a time. s3rver writes an object's bytes, its checksum and its
 * metadata as separate files, so a read or a second write in between sees a mix: every request takes
 * this lock (writes alone), and holds it until its response has been sent.
 */
class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waiting: Array<{ write: boolean; grant: () => void }> = [];

  acquire(write: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiting.push({ write, grant: () => resolve(this.releaser(write)) });
      this.pump();
    });
  }

  private releaser(write: boolean): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (write) this.writing = false;
      else this.readers--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiting.length > 0 && !this.writing) {
      const head = this.waiting[0] as { write: boolean; grant: () => void };
      if (head.write && this.readers > 0) return;
      this.waiting.shift();
      if (head.write) this.writing = true;
      else this.readers++;
      head.grant();
      if (head.write) return;
    }
  }
}

const MAX_KEY_BYTES = 1024;

/** A key (or listing prefix) that could name a file outside the server's directory is refused. */
function checkContained(what: string, key: string): void {
  if (
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((segment) => segment === '.' || segment === '..')
  ) {
    throw new S3Error('InvalidArgument', `${what} may not contain "." or ".." segments, "\\" or NUL`, {
      ArgumentName: what,
    });
  }
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', 'Your key is too long');
  }
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/**
 * What s3rver lacks and the pipeline relies on, in front of its routes: keys contained in its
 * directory, requests serialized per the lock above, and S3's conditional writes (PutObject with
 * If-None-Match: * or If-Match: <etag>, answered 412 PreconditionFailed when they do not hold), so a
 * local run keeps the guarantees it has on S3.
 */
function guard(store: Store, lock: ReadWriteLock): Middleware {
  return async (ctx, next) => {
    const [, bucket, ...rest] = ctx.path.split('/');
    const key = rest.length > 0 ? decodeURIComponent(rest.join('/')) : '';
    if (key) checkContained('key', key);
    const prefix = ctx.query.prefix;
    if (typeof prefix === 'string' && prefix) checkContained('prefix', prefix);

    const write = !['GET', 'HEAD', 'OPTIONS'].includes(ctx.method);
    const release = await lock.acquire(write);
    ctx.res.once('close', release);
    try {
      if (ctx.method === 'PUT' && bucket && key && !('uploadId' in ctx.query)) {
        const noneMatch = ctx.get('if-none-match');
        const match = ctx.get('if-match');
        if (noneMatch || match) {
          const etag = await store.getMetadata(bucket, key).then(
            (m) => unquote(m.etag),
            () => undefined,
          );
          const failed =
            (noneMatch === '*' && etag !== undefined) || (match !== '' && etag !== unquote(match));
          if (match && etag === undefined) {
            ctx.req.resume();
            throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
          }
          if (failed) {
            ctx.req.resume();
            throw new S3Error(
              'PreconditionFailed',
              'At least one of the pre-conditions you specified did not hold',
              { Condition: noneMatch ? 'If-None-Match' : 'If-Match' },
            );
          }
        }
      }
      await next();
    } catch (error) {
      release();
      throw error;
    }
  };
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
  const koa = server as unknown as { middleware: Middleware[]; store: Store };
  koa.store.putObject = atomicPutObject(koa.store);
  koa.middleware.unshift(guard(koa.store, new ReadWriteLock()));
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
            sessionToken: env.AWS_SESSION_TOKEN,
          }
        : LOCAL_S3_CREDENTIALS,
  });
}
