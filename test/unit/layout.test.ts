import { describe, expect, it } from 'vitest';
import {
  commitKey,
  commitKeyOfPartition,
  commitsGlob,
  doctorProbeKey,
  FETCH_ID_PATTERN,
  fetchIdOf,
  fetchOfKey,
  isNewerFetch,
  LEGACY_FETCH_ID,
  manifestKey,
  type PartitionRef,
  parsePartitionKey,
  partitionOfCommitKey,
  partitionPrefix,
  partitionTemplate,
  partKey,
  partsGlob,
  runOutputKey,
  safeRunId,
} from '../../lambdas/core/layout.ts';

const REF: PartitionRef = {
  bucket: 'lake',
  prefix: 'dd',
  category: 'hourly_usage',
  account: 'main',
  partition: 'day=2026-09-01',
};
const FETCH = '20260901T120000000Z-0000-0a1b2c3d';

describe('Function: partKey', () => {
  it('names a part by its page and its fetch, inside the partition folder', () => {
    // Act
    const keys = [0, 7, 12345].map((page) => partKey(REF, FETCH, page));

    // Assess
    expect(keys).toEqual([
      `dd/hourly_usage/account=main/day=2026-09-01/part-00000.${FETCH}.json.gz`,
      `dd/hourly_usage/account=main/day=2026-09-01/part-00007.${FETCH}.json.gz`,
      `dd/hourly_usage/account=main/day=2026-09-01/part-12345.${FETCH}.json.gz`,
    ]);
    for (const key of keys) expect(key.startsWith(partitionPrefix(REF))).toBe(true);
  });

  it('widens the page number beyond five digits and keeps no prefix at the bucket root', () => {
    // Act
    const key = partKey({ ...REF, prefix: '' }, FETCH, 123456);

    // Assess
    expect(key).toBe(`hourly_usage/account=main/day=2026-09-01/part-123456.${FETCH}.json.gz`);
  });
});

describe('Function: parsePartitionKey', () => {
  it('reads back what every key of a partition folder is, both layouts', () => {
    // Act
    const parsed = [
      partKey(REF, FETCH, 42),
      manifestKey(REF, FETCH),
      'dd/hourly_usage/account=main/day=2026-09-01/part-00003.json.gz',
      'dd/hourly_usage/account=main/day=2026-09-01/_manifest.json',
      'dd/hourly_usage/account=main/day=2026-09-01/notes.txt',
    ].map(parsePartitionKey);

    // Assess
    expect(parsed).toEqual([
      { kind: 'part', page: 42, fetchId: FETCH },
      { kind: 'manifest', fetchId: FETCH },
      { kind: 'legacy-part', page: 3 },
      { kind: 'legacy-manifest' },
      undefined,
    ]);
    expect(fetchOfKey(partKey(REF, FETCH, 1))).toBe(FETCH);
    expect(fetchOfKey('dd/hourly_usage/account=main/day=2026-09-01/part-00003.json.gz')).toBe(
      LEGACY_FETCH_ID,
    );
  });

  it('starts manifests with an underscore, which Athena skips as a hidden file', () => {
    // Act
    const name = manifestKey(REF, FETCH).split('/').pop();

    // Assess
    expect(name).toBe(`_manifest.${FETCH}.json`);
  });
});

describe('Function: commitKey', () => {
  it('keeps commit records beside the partitions, outside every partition folder, and maps back', () => {
    // Act
    const key = commitKey({ ...REF, category: 'cost_attribution', partition: 'month=2026-09' });

    // Assess
    expect(key).toBe('dd/cost_attribution/commits/account=main/month=2026-09.json');
    expect(partitionOfCommitKey(key)).toBe('dd/cost_attribution/account=main/month=2026-09/');
    expect(partitionOfCommitKey(commitKey({ ...REF, prefix: '' }))).toBe(
      'hourly_usage/account=main/day=2026-09-01/',
    );
    expect(partitionOfCommitKey(partKey(REF, FETCH, 0))).toBeUndefined();
    expect(commitKeyOfPartition(partitionPrefix(REF))).toBe(commitKey(REF));
  });
});

describe('Function: fetchIdOf', () => {
  it('is deterministic for one execution and attempt, and sorts by start, then redrive', () => {
    // Act
    const a = fetchIdOf('2026-09-01T12:00:00.000Z', 'arn:exec:a', 0);
    const again = fetchIdOf('2026-09-01T12:00:00.000Z', 'arn:exec:a', 0);
    const redriven = fetchIdOf('2026-09-01T12:00:00.000Z', 'arn:exec:a', 1);
    const later = fetchIdOf('2026-09-01T12:00:00.001Z', 'arn:exec:b', 0);

    // Assess
    expect(a).toBe(again);
    expect(a).toMatch(FETCH_ID_PATTERN);
    expect(a.startsWith('20260901T120000000Z-0000-')).toBe(true);
    expect(isNewerFetch(redriven, a)).toBe(true);
    expect(isNewerFetch(later, redriven)).toBe(true);
    expect(isNewerFetch(a, later)).toBe(false);
    expect(isNewerFetch(a, a)).toBe(false);
  });

  it('treats the legacy fetch as older than any', () => {
    // Assess
    expect(isNewerFetch(FETCH, LEGACY_FETCH_ID)).toBe(true);
    expect(isNewerFetch(LEGACY_FETCH_ID, FETCH)).toBe(false);
  });

  it('refuses a start time that is not one', () => {
    // Assess
    expect(() => fetchIdOf('yesterday', 'arn', 0)).toThrow(/not an execution start time/);
  });
});

describe('Function: partitionTemplate', () => {
  it('builds projection templates and globs from the same partition folder', () => {
    // Act
    const projection = partitionTemplate('dd', 'usage_summary', 'month', (c) => `\${${c}}`);

    // Assess
    expect(projection).toBe(`dd/usage_summary/account=\${account}/month=\${month}/`);
    expect(partsGlob('dd', 'hourly_usage', 'day')).toBe('dd/hourly_usage/account=*/day=*/part-*.json.gz');
    expect(commitsGlob('')).toBe('*/commits/account=*/*.json');
  });
});

describe('Function: run records', () => {
  it('keeps run records outside every category, with unsafe run ids hashed', () => {
    // Act
    const plain = runOutputKey('dd', 'backfill-1');
    const hashed = runOutputKey('dd', '../../etc');

    // Assess
    expect(plain).toBe('dd/_runs/run=backfill-1/output.json');
    expect(hashed).toMatch(/^dd\/_runs\/run=[0-9a-f]{32}\/output\.json$/);
    expect(safeRunId('x'.repeat(81))).toHaveLength(32);
  });
});

describe('Function: doctorProbeKey', () => {
  it("puts the doctor's probe under <prefix>/_doctor/, outside every category and hidden from the tables", () => {
    // Act
    const key = doctorProbeKey('dd', '20261130T095044093Z-91f19c0e');
    const bare = doctorProbeKey('', 'x');
    const hashed = doctorProbeKey('dd', '../../escape');

    // Assess
    expect(key).toBe('dd/_doctor/probe-20261130T095044093Z-91f19c0e.json');
    expect(bare).toBe('_doctor/probe-x.json');
    expect(hashed).toMatch(/^dd\/_doctor\/probe-[0-9a-f]{32}\.json$/);
    expect(parsePartitionKey(key)).toBeUndefined();
    expect(commitKeyOfPartition('dd/_doctor/')).toBeUndefined();
  });
});
