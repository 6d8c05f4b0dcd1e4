import { describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../../lambdas/categories.ts';
import {
  commitKey,
  groupFailureKey,
  groupResultsKey,
  manifestKey,
  partKey,
  runOutputKey,
} from '../../lambdas/core/layout.ts';
import {
  MAX_ACCOUNT_NAME_LENGTH,
  MAX_ACCOUNTS,
  MAX_KEY_SUFFIX_BYTES,
  MAX_PREFIX_LENGTH,
  MAX_RUN_ID_LENGTH,
  MAX_S3_KEY_BYTES,
  readLambdaConfig,
} from '../../lambdas/shared/config.ts';

const ACCOUNT = { name: 'main', secretName: 'dd/main', site: 'datadoghq.com' };
const ENV = { DATA_BUCKET: 'lake', DD_ACCOUNTS: JSON.stringify([ACCOUNT]) };

describe('Function: readLambdaConfig', () => {
  it(`accepts a DATA_PREFIX of ${MAX_PREFIX_LENGTH} characters and ${MAX_ACCOUNTS} accounts`, () => {
    // Prepare
    const accounts = Array.from({ length: MAX_ACCOUNTS }, (_, i) => ({ ...ACCOUNT, name: `a${i}` }));

    // Act
    const config = readLambdaConfig({
      ...ENV,
      DATA_PREFIX: 'p'.repeat(MAX_PREFIX_LENGTH),
      DD_ACCOUNTS: JSON.stringify(accounts),
    });

    // Assess
    expect(config.prefix).toHaveLength(MAX_PREFIX_LENGTH);
    expect(config.accounts).toHaveLength(MAX_ACCOUNTS);
  });

  it('refuses a DATA_PREFIX too long for the keys a run writes, at cold start', () => {
    // Act
    const read = () => readLambdaConfig({ ...ENV, DATA_PREFIX: 'p'.repeat(MAX_PREFIX_LENGTH + 1) });

    // Assess
    expect(read).toThrow(
      `DATA_PREFIX is ${MAX_PREFIX_LENGTH + 1} characters long; at most ${MAX_PREFIX_LENGTH} (keys add up to ${MAX_KEY_SUFFIX_BYTES} bytes after it, within S3's 1024-byte key limit)`,
    );
  });

  it('refuses more accounts than a run of all of them can plan', () => {
    // Prepare
    const accounts = Array.from({ length: MAX_ACCOUNTS + 1 }, (_, i) => ({ ...ACCOUNT, name: `a${i}` }));

    // Act
    const read = () => readLambdaConfig({ ...ENV, DD_ACCOUNTS: JSON.stringify(accounts) });

    // Assess
    expect(read).toThrow(/^DD_ACCOUNTS lists 11 accounts; at most 10,/);
  });
});

describe('Constant: MAX_KEY_SUFFIX_BYTES', () => {
  it('covers the longest key of the layout, and leaves the longest prefix under 1024 bytes', () => {
    // Prepare: the longest account, category, page number and run id
    const prefix = 'p'.repeat(MAX_PREFIX_LENGTH);
    const account = 'a'.repeat(MAX_ACCOUNT_NAME_LENGTH);
    const category = CATEGORY_NAMES.reduce((a, b) => (b.length > a.length ? b : a));
    const ref = { prefix, category, account, partition: 'day=2026-11-26' };
    const run = 'r'.repeat(MAX_RUN_ID_LENGTH);
    const fetchId = '20261126T000000000Z-9999-ffffffff';
    const group = { account, category, start: '2026-11-26T00:00:00.000Z' };

    // Act
    const keys = [
      partKey(ref, fetchId, 999_999),
      manifestKey(ref, fetchId),
      commitKey(ref),
      groupResultsKey(prefix, run, group),
      groupFailureKey(prefix, run, group),
      runOutputKey(prefix, run),
    ];

    // Assess
    for (const key of keys) {
      expect(Buffer.byteLength(key) - prefix.length).toBeLessThanOrEqual(MAX_KEY_SUFFIX_BYTES);
    }
    expect(MAX_PREFIX_LENGTH + MAX_KEY_SUFFIX_BYTES).toBeLessThanOrEqual(MAX_S3_KEY_BYTES);
  });
});
