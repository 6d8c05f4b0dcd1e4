import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLanded, startHarness } from '../../local/harness.ts';
import { type LocalS3, startS3Server } from '../../local/s3-server.ts';

describe('Embedded S3 server: contained, atomic, conditional', () => {
  let s3: LocalS3;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 's3-contained-'));
    s3 = await startS3Server({ directory: path.join(root, 'data'), bucket: 'lake' });
  });
  afterAll(async () => {
    await s3.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(['a/../../escape.json', '../escape.json', 'a/./b.json', 'a\\..\\b.json'])(
    'refuses the key %j before anything is written',
    async (key) => {
      // Act
      const error = await s3.client.send(new PutObjectCommand({ Bucket: 'lake', Key: key, Body: 'x' })).then(
        () => undefined,
        (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
      );

      // Assess: a named S3 error, and nothing outside the server's directory
      expect(error?.name).toBe('InvalidArgument');
      expect(error?.$metadata?.httpStatusCode).toBe(400);
      expect(readdirSync(root)).toEqual(['data']);
      expect(existsSync(path.join(root, 'escape.json._S3rver_object'))).toBe(false);
    },
  );

  it('refuses a listing prefix that climbs out of the bucket', async () => {
    // Act
    const error = await s3.client.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: '../' })).then(
      () => undefined,
      (e: Error) => e,
    );

    // Assess
    expect(error?.name).toBe('InvalidArgument');
  });

  it('writes concurrently to one key whole: every read sees one complete body, with its own checksum', async () => {
    // Prepare: 2 MB bodies, each a different byte repeated
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(2_000_000 + i * 1_000, 65 + i));
    const read = async () => {
      const res = await s3.client.send(new GetObjectCommand({ Bucket: 'lake', Key: 'race/one' }));
      const bytes = await (
        res.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      return { bytes: Buffer.from(bytes), etag: res.ETag };
    };

    // Act: every writer reads the key back as soon as its PUT is answered, all at once
    const reads = await Promise.all(
      bodies.map(async (Body) => {
        await s3.client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'race/one', Body }));
        return read();
      }),
    );

    // Assess: whole bodies only, each served with the MD5 of its own bytes as ETag
    for (const r of [...reads, await read()]) {
      expect(bodies.some((b) => b.equals(r.bytes))).toBe(true);
      expect(r.etag).toBe(`"${createHash('md5').update(r.bytes).digest('hex')}"`);
    }
  });

  it('replaces an object file in one step: a reader of the directory (npm run query) never sees half of one', async () => {
    // Prepare: a first version, then 2 MB bodies written one after the other while the file is read
    const file = path.join(root, 'data', 'lake', 'race', 'file._S3rver_object');
    const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(2_000_000, 97 + i));
    await s3.client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'race/file', Body: bodies[0] }));
    let writing = true;
    const seen: number[] = [];

    // Act
    const reader = (async () => {
      while (writing) {
        const bytes = readFileSync(file);
        seen.push(bodies.some((b) => b.equals(bytes)) ? 1 : 0);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (const Body of bodies)
      await s3.client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'race/file', Body }));
    writing = false;
    await reader;

    // Assess
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((ok) => !ok)).toEqual([]);
  });

  it('keeps If-None-Match and If-Match: a second create and a stale update are refused', async () => {
    // Act
    const put = (extra: Record<string, string>) =>
      s3.client
        .send(new PutObjectCommand({ Bucket: 'lake', Key: 'cas/k', Body: String(Math.random()), ...extra }))
        .then(
          (r) => r.ETag as string,
          (e: Error) => e.name,
        );
    const created = await put({ IfNoneMatch: '*' });
    const again = await put({ IfNoneMatch: '*' });
    const updated = await put({ IfMatch: created });
    const stale = await put({ IfMatch: created });

    // Assess
    expect(created).toMatch(/^"[0-9a-f]{32}"$/);
    expect(again).toBe('PreconditionFailed');
    expect(updated).toMatch(/^"[0-9a-f]{32}"$/);
    expect(stale).toBe('PreconditionFailed');
  });
});

describe('Embedded S3 server: two local runs at once keep their guarantees', () => {
  it('lands two concurrent runs of the same windows with every manifest matching its objects', async () => {
    // Prepare
    const env = await startHarness({ run: { prefix: 'twice', limits: { maxPagesPerInvocation: 1 } } });
    try {
      const input = {
        account: 'main',
        categories: ['hourly_usage'],
        start: '2026-09-01',
        end: '2026-09-04',
        pageSize: 60,
      };
      const run = (name: string) => env.run(input, { executionName: name });

      // Act
      const [a, b] = await Promise.all([run('first'), run('second')]);

      // Assess: both ran; each committed window's manifest matches its parts byte for byte
      expect(a.output.execution_status).toBe('S_OK');
      expect(b.output.execution_status).toBe('S_OK');
      const landed = await readLanded(env.s3.client, env.s3.bucket, 'twice/');
      expect(landed.manifests.size).toBe(3);
      for (const manifest of landed.manifests.values()) {
        for (const part of manifest.parts) {
          const res = await env.s3.client.send(
            new GetObjectCommand({ Bucket: env.s3.bucket, Key: part.key }),
          );
          const body = Buffer.from(
            await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
          );
          expect(createHash('sha256').update(body).digest('hex')).toBe(part.sha256);
          expect(body.length).toBe(part.bytes);
        }
      }
    } finally {
      await env.close();
    }
  });
});
