import { describe, expect, it } from 'vitest';
import {
  type IngestInfo,
  manifestKey,
  type PartitionRef,
  partitionPrefix,
  partKey,
  toNdjson,
} from '../../lambdas/core/page-writer.ts';

const INGEST: IngestInfo = {
  account: 'main',
  category: 'hourly_usage',
  window_start: '2026-09-01T00:00:00.000Z',
  window_end: '2026-09-02T00:00:00.000Z',
  page: 3,
  fetched_at: '2026-09-02T01:02:03.456Z',
};

function lines(ndjson: string): Array<Record<string, unknown>> {
  expect(ndjson.endsWith('\n')).toBe(true);
  return ndjson
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Function: toNdjson', () => {
  it("writes one line per record with the record's own fields unchanged, in order, plus ingest", () => {
    // Prepare
    const records = [
      {
        id: 'abc',
        type: 'usage_timeseries',
        attributes: {
          product_family: 'infra_hosts',
          timestamp: '2026-09-01T05:00:00+00:00',
          measurements: [
            { usage_type: 'agent_host_count', value: 12 },
            { usage_type: 'aws_host_count', value: null },
          ],
          org_name: 'Acme "Prod"\nline two',
        },
      },
      { zeta: 1, alpha: 2.5, mid: 0, big: 12345678901234, nested: { b: [true, false], a: {} }, emoji: 'é🙂' },
    ];

    // Act
    const ndjson = toNdjson(records, INGEST);

    // Assess
    const parsed = lines(ndjson);
    expect(parsed).toHaveLength(2);
    parsed.forEach((line, i) => {
      const record = records[i] as Record<string, unknown>;
      expect(Object.keys(line)).toEqual([...Object.keys(record), 'ingest']);
      const { ingest, ...own } = line;
      expect(own).toStrictEqual(record);
      expect(ingest).toStrictEqual(INGEST);
    });
  });

  it('keeps the bytes of each record serialization and appends ingest last', () => {
    // Prepare
    const record = { b: 1, a: 'x', c: [1, 2] };

    // Act
    const ndjson = toNdjson([record], INGEST);

    // Assess
    expect(ndjson).toBe(`{"b":1,"a":"x","c":[1,2],"ingest":${JSON.stringify(INGEST)}}\n`);
  });

  it('writes an empty object record as just its ingest', () => {
    // Act
    const ndjson = toNdjson([{}], INGEST);

    // Assess
    expect(ndjson).toBe(`{"ingest":${JSON.stringify(INGEST)}}\n`);
    expect(lines(ndjson)).toEqual([{ ingest: INGEST }]);
  });

  it('keeps a record that already has an ingest field whole under record', () => {
    // Prepare
    const record = { id: 'r1', ingest: { source: 'datadog' }, value: 3 };

    // Act
    const parsed = lines(toNdjson([record], INGEST));

    // Assess
    expect(parsed).toEqual([{ record, ingest: INGEST }]);
    expect(Object.keys(parsed[0] ?? {})).toEqual(['record', 'ingest']);
  });

  it('keeps a non-object record whole under record', () => {
    // Act
    const parsed = lines(toNdjson([[1, 2], 'text', 7, null], INGEST));

    // Assess
    expect(parsed).toEqual([
      { record: [1, 2], ingest: INGEST },
      { record: 'text', ingest: INGEST },
      { record: 7, ingest: INGEST },
      { record: null, ingest: INGEST },
    ]);
  });

  it('writes nothing for no records', () => {
    // Act
    const ndjson = toNdjson([], INGEST);

    // Assess
    expect(ndjson).toBe('');
  });

  it('writes exactly one newline-terminated line per record', () => {
    // Prepare
    const records = Array.from({ length: 50 }, (_, i) => ({ i, text: `line\n${i}` }));

    // Act
    const ndjson = toNdjson(records, INGEST);

    // Assess
    expect(ndjson.split('\n')).toHaveLength(51);
    expect(lines(ndjson).map((l) => l.i)).toEqual(records.map((r) => r.i));
  });
});

describe('Function: partKey', () => {
  const ref: PartitionRef = {
    bucket: 'lake',
    prefix: 'dd',
    category: 'hourly_usage',
    account: 'main',
    partition: 'day=2026-09-01',
  };

  it('builds the key under the prefix with the part number padded to 5 digits', () => {
    // Act
    const keys = [0, 7, 42, 12345].map((page) => partKey(ref, page));

    // Assess
    expect(keys).toEqual([
      'dd/hourly_usage/account=main/day=2026-09-01/part-00000.json.gz',
      'dd/hourly_usage/account=main/day=2026-09-01/part-00007.json.gz',
      'dd/hourly_usage/account=main/day=2026-09-01/part-00042.json.gz',
      'dd/hourly_usage/account=main/day=2026-09-01/part-12345.json.gz',
    ]);
  });

  it('keeps part numbers beyond 5 digits whole', () => {
    // Act
    const key = partKey(ref, 123456);

    // Assess
    expect(key).toBe('dd/hourly_usage/account=main/day=2026-09-01/part-123456.json.gz');
  });

  it('has no leading slash when the prefix is empty', () => {
    // Act
    const key = partKey({ ...ref, prefix: '' }, 1);

    // Assess
    expect(key).toBe('hourly_usage/account=main/day=2026-09-01/part-00001.json.gz');
    expect(key.startsWith('/')).toBe(false);
  });

  it('sorts in page order', () => {
    // Act
    const keys = [10, 2, 100, 1].map((page) => partKey(ref, page));

    // Assess
    expect([...keys].sort()).toEqual([1, 2, 10, 100].map((page) => partKey(ref, page)));
  });
});

describe('Function: manifestKey', () => {
  const ref: PartitionRef = {
    bucket: 'lake',
    prefix: 'dd',
    category: 'cost_attribution',
    account: 'eu-prod',
    partition: 'month=2026-09',
  };

  it('puts the manifest next to the parts', () => {
    // Act
    const key = manifestKey(ref);

    // Assess
    expect(key).toBe('dd/cost_attribution/account=eu-prod/month=2026-09/_manifest.json');
    expect(key.startsWith(partitionPrefix(ref))).toBe(true);
    expect(partKey(ref, 0).startsWith(partitionPrefix(ref))).toBe(true);
  });

  it('has no leading slash when the prefix is empty', () => {
    // Act
    const key = manifestKey({ ...ref, prefix: '' });

    // Assess
    expect(key).toBe('cost_attribution/account=eu-prod/month=2026-09/_manifest.json');
  });

  it('nests under a multi-segment prefix', () => {
    // Act
    const key = manifestKey({ ...ref, prefix: 'lake/datadog' });

    // Assess
    expect(key).toBe('lake/datadog/cost_attribution/account=eu-prod/month=2026-09/_manifest.json');
  });
});

describe('Function: partitionPrefix', () => {
  it('ends with a slash so a listing never matches a sibling partition', () => {
    // Act
    const prefix = partitionPrefix({
      bucket: 'lake',
      prefix: 'dd',
      category: 'hourly_usage',
      account: 'main',
      partition: 'day=2026-09-01',
    });

    // Assess
    expect(prefix).toBe('dd/hourly_usage/account=main/day=2026-09-01/');
  });
});
