import { describe, expect, it } from 'vitest';
import { type IngestInfo, toNdjson } from '../../lambdas/core/page-writer.ts';

const INGEST: IngestInfo = {
  account: 'main',
  category: 'hourly_usage',
  window_start: '2026-09-01T00:00:00.000Z',
  window_end: '2026-09-02T00:00:00.000Z',
  page: 3,
  fetched_at: '2026-09-02T01:02:03.456Z',
  fetch_id: '20260902T010000000Z-0000-0a1b2c3d',
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
