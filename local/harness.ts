/**
 * One harness for the tests and the benchmark: a Datadog simulator and an embedded S3 server on
 * loopback (in a temp directory), the local state machine run against them, and readers of what
 * landed. It imports no test framework, so the benchmark uses it as the tests do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { CommitRecord, Manifest } from '../lambdas/core/commit.ts';
import { commitKeyOfPartition, fetchOfKey, parsePartitionKey } from '../lambdas/core/layout.ts';
import type { AccountConfig } from '../lambdas/shared/config.ts';
import type { DatadogKeys } from '../lambdas/shared/secrets.ts';
import type { LocalRunOptions, LocalRunResult } from './runner.ts';
import { type LocalS3, startS3Server } from './s3-server.ts';
import {
  type DatadogSimulator,
  SIMULATOR_KEYS,
  type SimulatorOptions,
  startSimulator,
} from './simulator/index.ts';

/** The keys the simulator accepts unless told otherwise. */
export const HARNESS_KEYS: DatadogKeys = { ...SIMULATOR_KEYS, site: 'datadoghq.com' };
/** The one account the harness's runs know: `main`, on datadoghq.com. */
export const HARNESS_ACCOUNTS: AccountConfig[] = [
  { name: 'main', secretName: 'local', site: 'datadoghq.com' },
];
export const HARNESS_PREFIX = 'dd';

export interface HarnessOptions {
  sim?: SimulatorOptions;
  /** What every run starts from, before its own overrides (e.g. `prefix`, `keys`, `waitOverrideMs`). */
  run?: Partial<Omit<LocalRunOptions, 'input'>>;
  /** Prefix of the temp directory the S3 server stores under; default `lake-s3-`. */
  tmpPrefix?: string;
}

/** The input of a run, exactly as a manual StartExecution would pass it. */
export type RunInput = LocalRunOptions['input'];

export interface Harness {
  sim: DatadogSimulator;
  s3: LocalS3;
  /**
   * `runLocal` of `input` against this harness's simulator and bucket, with the harness's keys, account
   * and prefix `dd`; then the harness's `run` options, then `overrides`, each replacing whole options.
   * Any option of runLocal passes through, `input` included (it replaces the first argument).
   */
  run(input: RunInput, overrides?: Partial<LocalRunOptions>): Promise<LocalRunResult>;
  close(): Promise<void>;
}

/** A real simulator and a real S3-compatible server on loopback, in a temp directory. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const directory = mkdtempSync(path.join(os.tmpdir(), options.tmpPrefix ?? 'lake-s3-'));
  const [sim, s3] = await Promise.all([
    startSimulator(options.sim),
    startS3Server({ directory, bucket: 'lake' }),
  ]);
  return {
    sim,
    s3,
    run: async (input, overrides = {}) => {
      // Loaded on the first run: it brings the CDK app, which a caller that only reads S3 does not need.
      const { runLocal } = await import('./runner.ts');
      return runLocal({
        accounts: HARNESS_ACCOUNTS,
        keys: HARNESS_KEYS,
        datadogUrl: sim.url,
        s3: s3.client,
        bucket: s3.bucket,
        prefix: HARNESS_PREFIX,
        ...options.run,
        input,
        ...overrides,
      });
    },
    close: async () => {
      await Promise.all([sim.close(), s3.close()]);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3, pageSize: 100 },
    { Bucket: bucket, Prefix: prefix },
  )) {
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
  }
  return keys.sort();
}

export async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(
    await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

export interface LandedLine {
  key: string;
  record: Record<string, unknown> & { ingest: Record<string, unknown> };
}

export interface Landed {
  /** Every line of every part, whatever fetch it belongs to. */
  lines: LandedLine[];
  /** The lines of each window's committed fetch: what the tables show. */
  visible: LandedLine[];
  /** Commit records, by partition folder (`dd/hourly_usage/account=main/day=2026-09-01/`). */
  commits: Map<string, CommitRecord>;
  /** The committed fetch's manifest, by partition folder. */
  manifests: Map<string, Manifest>;
  keys: string[];
}

const folderOf = (key: string) => key.slice(0, key.lastIndexOf('/') + 1);

/** Everything under `prefix`, read back through the S3 API. */
export async function readLanded(s3: S3Client, bucket: string, prefix: string): Promise<Landed> {
  const keys = await listKeys(s3, bucket, prefix);
  const commits = new Map<string, CommitRecord>();
  for (const folder of new Set(keys.map(folderOf))) {
    const key = commitKeyOfPartition(folder);
    if (!key) continue;
    const body = await getBytes(s3, bucket, key).catch(() => undefined);
    if (body) commits.set(folder, JSON.parse(body.toString('utf8')));
  }
  const lines: LandedLine[] = [];
  const visible: LandedLine[] = [];
  const manifests = new Map<string, Manifest>();
  for (const key of keys) {
    const what = parsePartitionKey(key);
    const commit = commits.get(folderOf(key));
    if (what?.kind === 'manifest') {
      if (commit?.fetch_id === what.fetchId) {
        manifests.set(folderOf(key), JSON.parse((await getBytes(s3, bucket, key)).toString('utf8')));
      }
      continue;
    }
    if (what?.kind !== 'part' && what?.kind !== 'legacy-part') continue;
    const text = gunzipSync(await getBytes(s3, bucket, key)).toString('utf8');
    const fetch = fetchOfKey(key);
    for (const line of text.split('\n')) {
      if (!line) continue;
      const landed = { key, record: JSON.parse(line) };
      lines.push(landed);
      if (commit && commit.fetch_id === fetch) visible.push(landed);
    }
  }
  return { lines, visible, commits, manifests, keys };
}

/** Counts of each id: exactly-once means every count is 1. */
export function countIds(ids: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}
