/**
 * `npm run migrate`: makes windows landed in the layout before fetch ids (one `_manifest.json` and
 * `part-NNNNN.json.gz` per partition folder) visible in the tables, by committing each complete one
 * as fetch `legacy`. A window whose parts do not match its manifest, or that has no manifest (a run
 * that never finished it), stays invisible until a run fetches it again. The next fetch of a window
 * replaces its legacy fetch and removes the old objects, as it does any older fetch.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { CATEGORIES, isCategoryName, type Window } from '../lambdas/categories.ts';
import { type CommitRecord, swapCommit } from '../lambdas/core/commit.ts';
import { finalAfter, isFinal } from '../lambdas/core/fetch-window.ts';
import {
  LEGACY_FETCH_ID,
  type PartitionRef,
  parsePartitionFolder,
  parsePartitionKey,
  partitionValue,
  rootOf,
} from '../lambdas/core/layout.ts';
import { getJson } from '../lambdas/core/page-writer.ts';
import { createS3Client } from '../lambdas/shared/s3.ts';
import { localS3Client, startS3Server } from '../local/s3-server.ts';

const HELP = `Usage: npm run migrate -- [flags]

Commits the complete windows written by earlier versions (before fetch ids) so the tables show them.
Incomplete ones are listed; run them again (npm start or npm run backfill) to land them.

  --data-dir DIR        the embedded S3 server's directory (default: .local), or:
  --bucket NAME         an S3 bucket (AWS credentials from the environment)
  --s3-endpoint URL     an S3-compatible endpoint for --bucket
  --prefix PREFIX       key prefix (default: datadog)
  --dry-run             say what would be committed, change nothing
  --help`;

/** What the old `_manifest.json` held that the migration needs. */
interface LegacyManifest {
  version: 1;
  complete: true;
  window: Window;
  pages: number;
  records: number;
  bytes: number;
  parts: Array<{ key: string; page: number; bytes: number; etag?: string }>;
  execution: { id: string; run_id: string };
  started_at: string;
}

export interface MigrationReport {
  committed: string[];
  /** Partition folders left invisible, with the reason. */
  skipped: Array<{ folder: string; reason: string }>;
}

interface Listed {
  key: string;
  size: number;
  etag: string;
}

/** Why a legacy manifest does not describe a complete window that S3 still holds, or undefined. */
function mismatch(
  manifest: LegacyManifest,
  objects: Map<string, Listed>,
  legacyParts: number,
): string | undefined {
  if (manifest.version !== 1 || manifest.complete !== true)
    return 'the manifest is not a complete version-1 manifest';
  if (manifest.parts.length !== manifest.pages || legacyParts !== manifest.pages) {
    return `the folder holds ${legacyParts} old-layout parts, the manifest ${manifest.pages}`;
  }
  for (const part of manifest.parts) {
    const o = objects.get(part.key);
    if (!o) return `${part.key} is missing`;
    if (o.size !== part.bytes || (part.etag && o.etag !== part.etag))
      return `${part.key} changed after the manifest`;
  }
  return undefined;
}

/** Commits every complete legacy window under `prefix`. */
export async function migrate(
  s3: S3Client,
  bucket: string,
  prefix: string,
  options: { dryRun?: boolean; now?: () => Date } = {},
): Promise<MigrationReport> {
  const now = options.now ?? (() => new Date());
  const folders = new Map<string, Map<string, Listed>>();
  for await (const page of paginateListObjectsV2(
    { client: s3 },
    { Bucket: bucket, Prefix: rootOf(prefix) },
  )) {
    for (const o of page.Contents ?? []) {
      const kind = o.Key ? parsePartitionKey(o.Key)?.kind : undefined;
      if (!o.Key || (kind !== 'legacy-part' && kind !== 'legacy-manifest')) continue;
      const folder = o.Key.slice(0, o.Key.lastIndexOf('/') + 1);
      if (!folders.has(folder)) folders.set(folder, new Map());
      folders
        .get(folder)
        ?.set(o.Key, { key: o.Key, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, '') });
    }
  }
  const report: MigrationReport = { committed: [], skipped: [] };
  for (const [folder, objects] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    const f = parsePartitionFolder(folder);
    const category = f?.category;
    if (!f || !isCategoryName(category) || f.prefix !== prefix) {
      report.skipped.push({ folder, reason: 'not a partition folder of this prefix' });
      continue;
    }
    const manifestKey = `${folder}_manifest.json`;
    if (!objects.has(manifestKey)) {
      report.skipped.push({ folder, reason: 'no manifest: the window never completed' });
      continue;
    }
    const manifest = (await getJson(s3, bucket, manifestKey))?.value as LegacyManifest | undefined;
    if (!manifest) {
      report.skipped.push({ folder, reason: 'no manifest: the window never completed' });
      continue;
    }
    const legacyParts = [...objects.keys()].filter(
      (k) => parsePartitionKey(k)?.kind === 'legacy-part',
    ).length;
    const why = mismatch(manifest, objects, legacyParts);
    if (why) {
      report.skipped.push({ folder, reason: why });
      continue;
    }
    const def = CATEGORIES[category];
    const ref: PartitionRef = {
      bucket,
      prefix,
      category,
      account: f.account,
      partition: f.partition,
    };
    const record: CommitRecord = {
      category,
      account: ref.account,
      window_kind: def.window,
      window_key: partitionValue(ref.partition),
      window_start: manifest.window.start,
      window_end: manifest.window.end,
      fetch_id: LEGACY_FETCH_ID,
      pages: manifest.pages,
      records: manifest.records,
      bytes: manifest.bytes,
      fetched_at: manifest.started_at,
      committed_at: now().toISOString(),
      run_id: manifest.execution.run_id,
      execution_id: manifest.execution.id,
      status: isFinal(def, manifest.window, new Date(manifest.started_at)) ? 'final' : 'provisional',
      final_after: finalAfter(def, manifest.window),
      manifest: manifestKey,
    };
    if (!options.dryRun && (await swapCommit(s3, ref, record)) === 'superseded') {
      report.skipped.push({ folder, reason: 'a newer fetch is committed already' });
      continue;
    }
    report.committed.push(folder);
  }
  return report;
}

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  let flags: ReturnType<typeof parse>;
  const parse = (args: string[]) =>
    parseArgs({
      args,
      options: {
        'data-dir': { type: 'string', default: '.local' },
        bucket: { type: 'string' },
        's3-endpoint': { type: 'string' },
        prefix: { type: 'string', default: 'datadog' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  try {
    flags = parse(argv);
  } catch (error) {
    out(`Error: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    out(HELP);
    return 0;
  }
  const prefix = flags.prefix ?? 'datadog';
  let close = async () => {};
  let s3: S3Client;
  let bucket: string;
  if (flags.bucket) {
    bucket = flags.bucket;
    s3 = flags['s3-endpoint'] ? localS3Client(flags['s3-endpoint']) : createS3Client();
  } else {
    const server = await startS3Server({
      directory: path.resolve(flags['data-dir'] ?? '.local', 's3'),
      bucket: 'local',
    });
    close = () => server.close();
    s3 = server.client;
    bucket = server.bucket;
  }
  try {
    const report = await migrate(s3, bucket, prefix, { dryRun: flags['dry-run'] ?? false });
    const verb = flags['dry-run'] ? 'would commit' : 'committed';
    for (const folder of report.committed) out(`  ✓ ${verb} ${folder}`);
    for (const s of report.skipped) out(`  ✗ left invisible ${s.folder}: ${s.reason}`);
    out(
      `${report.committed.length} window(s) ${verb} as fetch "${LEGACY_FETCH_ID}", ${report.skipped.length} left invisible.`,
    );
    return 0;
  } finally {
    await close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`Migration failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
