/**
 * THE S3 layout: every key the pipeline writes or reads, and every location the tables read, is
 * built here. Nothing else builds a key by hand.
 *
 * ```
 * <prefix>/<category>/account=<account>/<day=YYYY-MM-DD|month=YYYY-MM>/part-00000.<fetch>.json.gz   one per API page
 * <prefix>/<category>/account=<account>/<day=…|month=…>/_manifest.<fetch>.json                     one per complete fetch
 * <prefix>/<category>/commits/account=<account>/<day=…|month=…>.json                               the window's commit record
 * <prefix>/_runs/run=<run id>/groups/<account>/<category>/<YYYY-MM-DD>.json, …/output.json          run records
 * <prefix>/_doctor/probe-<id>.json                                                                  npm run doctor's write probe (deleted)
 * ```
 *
 * A fetch is one complete pass over a window by one execution. Its parts sit flat in the window's
 * partition folder beside the parts of other fetches (so no reader depends on how an engine treats
 * sub-folders), named by page and fetch id. The commit record names the one fetch readers see; the
 * tables join on it. Manifests start with `_`, which Athena and Hive skip as hidden files.
 */
import { createHash } from 'node:crypto';
import type { CategoryName, WindowKind } from '../categories.ts';

/** Where one window of one category of one account lands. */
export interface PartitionRef {
  bucket: string;
  prefix: string;
  category: CategoryName;
  account: string;
  /** `day=YYYY-MM-DD` or `month=YYYY-MM`. */
  partition: string;
}

/** The fetch id of windows landed before fetch ids existed, adopted by `npm run migrate`. */
export const LEGACY_FETCH_ID = 'legacy';

/** Fetch ids: `<execution start, compact UTC>-<redrive count>-<8 hex of the execution id>`. */
export const FETCH_ID_PATTERN = /^\d{8}T\d{9}Z-\d{4}-[0-9a-f]{8}$/;

/** A window's Hive partition: `day=YYYY-MM-DD` or `month=YYYY-MM`, from its start (ISO, UTC). */
export function partitionOf(kind: WindowKind, start: string): string {
  return kind === 'day' ? `day=${start.slice(0, 10)}` : `month=${start.slice(0, 7)}`;
}

/** `dd/` for prefix `dd`, '' for none. */
export function rootOf(prefix: string): string {
  return prefix ? `${prefix}/` : '';
}

/** `<prefix>/<category>/`: everything a category's function may touch, and its tables' root. */
export function categoryPrefix(prefix: string, category: CategoryName): string {
  return `${rootOf(prefix)}${category}/`;
}

/** The window's partition folder: `<prefix>/<category>/account=<account>/<partition>/`. */
export function partitionPrefix(ref: Omit<PartitionRef, 'bucket'>): string {
  return `${categoryPrefix(ref.prefix, ref.category)}account=${ref.account}/${ref.partition}/`;
}

/**
 * A fetch's id: sortable by the execution's start, then by its redrive count, so "newer" is a string
 * comparison; deterministic for every invocation of the same fetch (retries and zombies included).
 */
export function fetchIdOf(executionStart: string, executionId: string, attempt: number): string {
  const t = new Date(executionStart);
  if (Number.isNaN(t.getTime())) throw new Error(`not an execution start time: ${executionStart}`);
  const compact = t.toISOString().replace(/[-:]/g, '').replace('.', '');
  const hash = createHash('sha256').update(`${executionId}#${attempt}`).digest('hex').slice(0, 8);
  return `${compact}-${String(attempt).padStart(4, '0')}-${hash}`;
}

/** True when fetch `a` supersedes fetch `b` (a later execution, or a later redrive of it). */
export function isNewerFetch(a: string, b: string): boolean {
  if (a === b) return false;
  if (b === LEGACY_FETCH_ID) return true;
  if (a === LEGACY_FETCH_ID) return false;
  return a > b;
}

const pad = (page: number) => String(page).padStart(5, '0');

export function partKey(ref: Omit<PartitionRef, 'bucket'>, fetchId: string, page: number): string {
  return `${partitionPrefix(ref)}part-${pad(page)}.${fetchId}.json.gz`;
}

export function manifestKey(ref: Omit<PartitionRef, 'bucket'>, fetchId: string): string {
  return `${partitionPrefix(ref)}_manifest.${fetchId}.json`;
}

/** The commit record: one small JSON line that names the fetch readers see for the window. */
export function commitKey(ref: Omit<PartitionRef, 'bucket'>): string {
  return `${commitsPrefix(ref.prefix, ref.category)}account=${ref.account}/${ref.partition}.json`;
}

/** The partition folder a commit record speaks for (the inverse of {@link commitKey}). */
export function partitionOfCommitKey(key: string): string | undefined {
  const m = /^(.*\/)?([^/]+)\/commits\/(account=[^/]+)\/((?:day|month)=[^/]+)\.json$/.exec(key);
  return m ? `${m[1] ?? ''}${m[2]}/${m[3]}/${m[4]}/` : undefined;
}

/** What a partition folder (`<prefix>/<category>/account=<a>/<partition>/`) is the folder of. */
export function parsePartitionFolder(
  folder: string,
): { prefix: string; category: string; account: string; partition: string } | undefined {
  const m = /^(?:(.*)\/)?([^/]+)\/account=([^/]+)\/((?:day|month)=[^/]+)\/$/.exec(folder);
  if (!m?.[2] || !m[3] || !m[4]) return undefined;
  return { prefix: m[1] ?? '', category: m[2], account: m[3], partition: m[4] };
}

/** The commit record of a partition folder. */
export function commitKeyOfPartition(folder: string): string | undefined {
  const f = parsePartitionFolder(folder);
  return f ? commitKey({ ...f, category: f.category as CategoryName }) : undefined;
}

export function commitsPrefix(prefix: string, category: CategoryName): string {
  return `${categoryPrefix(prefix, category)}commits/`;
}

/** What a key in a partition folder is. */
export type PartitionObject =
  | { kind: 'part'; fetchId: string; page: number }
  | { kind: 'manifest'; fetchId: string }
  /** Written by the layout before fetch ids (one manifest and one set of parts per window). */
  | { kind: 'legacy-part'; page: number }
  | { kind: 'legacy-manifest' };

const PART = /\/part-(\d{5,})\.([^/.]+)\.json\.gz$/;
const MANIFEST = /\/_manifest\.([^/.]+)\.json$/;
const LEGACY_PART = /\/part-(\d{5,})\.json\.gz$/;
const LEGACY_MANIFEST = /\/_manifest\.json$/;

export function parsePartitionKey(key: string): PartitionObject | undefined {
  let m = PART.exec(key);
  if (m?.[1] && m[2]) return { kind: 'part', page: Number(m[1]), fetchId: m[2] };
  m = MANIFEST.exec(key);
  if (m?.[1]) return { kind: 'manifest', fetchId: m[1] };
  m = LEGACY_PART.exec(key);
  if (m?.[1]) return { kind: 'legacy-part', page: Number(m[1]) };
  if (LEGACY_MANIFEST.test(key)) return { kind: 'legacy-manifest' };
  return undefined;
}

/** The fetch an object belongs to (`legacy` for the old layout), or undefined for a stranger. */
export function fetchOfKey(key: string): string | undefined {
  const o = parsePartitionKey(key);
  if (!o) return undefined;
  return o.kind === 'part' || o.kind === 'manifest' ? o.fetchId : LEGACY_FETCH_ID;
}

/** The Hive partition column of a window kind, and the form of its values. */
export const PARTITION_COLUMN: Readonly<Record<WindowKind, 'day' | 'month'>> = { day: 'day', month: 'month' };

/** `day=2026-09-01` → `2026-09-01`. */
export function partitionValue(partition: string): string {
  return partition.slice(partition.indexOf('=') + 1);
}

// Rate-limit ledgers: one per account, shared by every category's fetches, outside the tables.

/** `<prefix>/_ratelimit/`: the accounts' rate-limit ledgers. */
export function rateLedgersPrefix(prefix: string): string {
  return `${rootOf(prefix)}_ratelimit/`;
}

export function rateLedgerKey(prefix: string, account: string): string {
  return `${rateLedgersPrefix(prefix)}${account}.json`;
}

// Run records: outside every category's prefix, so no table reads them.

/** `<prefix>/_runs/`: every run's records. */
export function runsPrefix(prefix: string): string {
  return `${rootOf(prefix)}_runs/`;
}

/** Execution names are already key-safe; anything else is hashed rather than trusted in a key. */
export function safeRunId(runId: string): string {
  return /^[A-Za-z0-9_-]{1,80}$/.test(runId)
    ? runId
    : createHash('sha256').update(runId).digest('hex').slice(0, 32);
}

export function runPrefix(prefix: string, runId: string): string {
  return `${runsPrefix(prefix)}run=${safeRunId(runId)}/`;
}

export function groupResultsPrefix(prefix: string, runId: string): string {
  return `${runPrefix(prefix, runId)}groups/`;
}

export function groupResultsKey(
  prefix: string,
  runId: string,
  group: { account: string; category: CategoryName; start: string },
): string {
  return `${groupResultsPrefix(prefix, runId)}${group.account}/${group.category}/${group.start.slice(0, 10)}.json`;
}

/** A group that failed as a whole: beside its results key, so a later success (a redrive) wins. */
export function groupFailureKey(
  prefix: string,
  runId: string,
  group: { account: string; category: CategoryName; start: string },
): string {
  return groupResultsKey(prefix, runId, group).replace(/\.json$/, GROUP_FAILURE_SUFFIX);
}

export const GROUP_FAILURE_SUFFIX = '.failed.json';

/** The results key a failure record stands in for. */
export function groupResultsKeyOfFailure(key: string): string {
  return `${key.slice(0, -GROUP_FAILURE_SUFFIX.length)}.json`;
}

export function runOutputKey(prefix: string, runId: string): string {
  return `${runPrefix(prefix, runId)}output.json`;
}

// Doctor probes: outside every category's prefix and hidden (`_`), so no table or listing of data reads them.

/**
 * `<prefix>/_doctor/probe-<id>.json`: the object `npm run doctor` writes and deletes to prove it may
 * write under the prefix. Unsafe ids are hashed, as run ids are.
 */
export function doctorProbeKey(prefix: string, probeId: string): string {
  return `${rootOf(prefix)}_doctor/probe-${safeRunId(probeId)}.json`;
}

// Table locations (Glue partition projection, and the local DuckDB globs with `*` as the values).

/** `s3://<bucket>/<prefix>/<category>/`: the raw table's location. */
export function tableLocation(bucket: string, prefix: string, category: CategoryName): string {
  return `s3://${bucket}/${categoryPrefix(prefix, category)}`;
}

/**
 * A partition folder with placeholders for its values: `${account}`/`${day}` for partition
 * projection's `storage.location.template`, `*` for a glob.
 */
export function partitionTemplate(
  prefix: string,
  category: CategoryName,
  kind: WindowKind,
  placeholder: (column: string) => string,
): string {
  const column = PARTITION_COLUMN[kind];
  return partitionPrefix({
    prefix,
    category,
    account: placeholder('account'),
    partition: `${column}=${placeholder(column)}`,
  });
}

/** Commit records of every category, with placeholders for `category` and `account`. */
export function commitsTemplate(prefix: string, placeholder: (column: string) => string): string {
  return `${commitsPrefix(prefix, placeholder('category') as CategoryName)}account=${placeholder('account')}/`;
}

/** The `windows` table's location: the lake's root (partition projection names each folder). */
export function windowsTableLocation(bucket: string, prefix: string): string {
  return `s3://${bucket}/${rootOf(prefix)}`;
}

/** Glob of every part of a category (both layouts), relative to the bucket. */
export function partsGlob(prefix: string, category: CategoryName, kind: WindowKind): string {
  return `${partitionTemplate(prefix, category, kind, () => '*')}part-*.json.gz`;
}

/** Glob of every commit record, relative to the bucket. */
export function commitsGlob(prefix: string): string {
  return `${commitsTemplate(prefix, () => '*')}*.json`;
}

/** Glob of every legacy manifest (the layout before fetch ids), relative to the bucket. */
export function legacyManifestsGlob(prefix: string): string {
  return `${rootOf(prefix)}*/account=*/*=*/_manifest.json`;
}
