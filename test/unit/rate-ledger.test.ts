import { describe, expect, it } from 'vitest';
import {
  emptyLedger,
  LEDGER_HEADROOM,
  type LedgerDoc,
  needsLedger,
  observe,
  ownWaitUntil,
  rolled,
  take,
} from '../../lambdas/core/rate-ledger.ts';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const HEADERS = { limit: 10, period: 30, remaining: 9, reset: 20, name: 'usage_metering' };

/** A ledger that knows hourly_usage answers with a limit of 10 per 30 s, `used` taken, ending at T0 + 20 s. */
const ledgerWith = (used: number): LedgerDoc => ({
  limits: { usage_metering: { limit: 10, periodMs: 30_000, resetAt: T0 + 20_000, used } },
  categories: { hourly_usage: 'usage_metering' },
});

describe('Function: rolled', () => {
  it('keeps a window that has not ended', () => {
    const w = { limit: 10, periodMs: 30_000, resetAt: T0 + 1, used: 7 };

    expect(rolled(w, T0)).toBe(w);
  });

  it('rolls an ended window on by whole periods, with nothing used', () => {
    const w = { limit: 10, periodMs: 30_000, resetAt: T0, used: 10 };

    expect(rolled(w, T0 + 65_000)).toEqual({ limit: 10, periodMs: 30_000, resetAt: T0 + 90_000, used: 0 });
  });

  it('forgets the end of an ended window whose period is unknown', () => {
    expect(rolled({ limit: 10, periodMs: 0, resetAt: T0, used: 10 }, T0)).toEqual({
      limit: 10,
      periodMs: 0,
      resetAt: 0,
      used: 0,
    });
  });
});

describe('Function: take', () => {
  it('lets a request through without a known limit, changing nothing', () => {
    const doc = emptyLedger();

    expect(take(doc, 'hourly_usage', T0)).toEqual({ doc, waitUntil: 0 });
  });

  it('counts each request taken until the limit, then names the end of the window', () => {
    // Prepare
    let doc = ledgerWith(0);
    const waits: number[] = [];

    // Act
    for (let i = 0; i < 12; i++) {
      const taken = take(doc, 'hourly_usage', T0);
      doc = taken.doc;
      waits.push(taken.waitUntil);
    }

    // Assess
    expect(waits).toEqual([...Array(10).fill(0), T0 + 20_000, T0 + 20_000]);
    expect(doc.limits.usage_metering?.used).toBe(10);
  });

  it('lets requests through again once the window has ended', () => {
    const taken = take(ledgerWith(10), 'hourly_usage', T0 + 20_000);

    expect(taken.waitUntil).toBe(0);
    expect(taken.doc.limits.usage_metering).toMatchObject({ used: 1, resetAt: T0 + 50_000 });
  });
});

describe('Function: observe', () => {
  it('learns a category’s limit from its first response', () => {
    const doc = observe(emptyLedger(), 'hourly_usage', HEADERS, T0);

    expect(doc).toEqual(ledgerWith(1));
  });

  it('keeps the higher count of the ledger and of Datadog in the same window', () => {
    expect(
      observe(ledgerWith(5), 'hourly_usage', { ...HEADERS, remaining: 2 }, T0)?.limits.usage_metering?.used,
    ).toBe(8);
    expect(observe(ledgerWith(5), 'hourly_usage', { ...HEADERS, remaining: 8 }, T0)).toBeUndefined();
  });

  it('starts a new window when the response’s reset lies a period away', () => {
    const doc = observe(ledgerWith(10), 'hourly_usage', { ...HEADERS, remaining: 9, reset: 30 }, T0 + 20_000);

    expect(doc?.limits.usage_metering).toEqual({
      limit: 10,
      periodMs: 30_000,
      resetAt: T0 + 50_000,
      used: 1,
    });
  });

  it('changes nothing for a response without the headers', () => {
    expect(observe(ledgerWith(3), 'hourly_usage', {}, T0)).toBeUndefined();
  });
});

describe('Function: needsLedger', () => {
  it.each([
    ['no response yet', undefined, true],
    ['no headers', {}, true],
    ['a small limit, even when unspent', { limit: 10, remaining: 10 }, true],
    ['a large limit, plenty left', { limit: 1_000, remaining: 900 }, false],
    ['a large limit, half spent', { limit: 1_000, remaining: 500 }, true],
    [`a limit of 40, more than ${LEDGER_HEADROOM} left`, { limit: 40, remaining: 21 }, false],
    [`a limit of 40, ${LEDGER_HEADROOM} left`, { limit: 40, remaining: LEDGER_HEADROOM }, true],
  ])('%s: %s', (_what, rl, expected) => {
    expect(needsLedger(rl)).toBe(expected);
  });
});

describe('Function: ownWaitUntil', () => {
  it('waits for the reset after the response that spent the last request', () => {
    expect(ownWaitUntil({ ...HEADERS, remaining: 0, reset: 7 }, T0)).toBe(T0 + 7_000);
    expect(ownWaitUntil({ ...HEADERS, remaining: 0, reset: 7 }, T0, 80)).toBe(T0 + 560);
  });

  it('does not wait while requests remain, or when the headers say nothing', () => {
    expect(ownWaitUntil({ ...HEADERS, remaining: 1 }, T0)).toBe(0);
    expect(ownWaitUntil({}, T0)).toBe(0);
  });
});
