import { describe, expect, it } from 'vitest';
import { describeEstimate, EtaEstimator, formatDuration } from '../../local/eta.ts';

const RL = { limit: 10, period: 30, remaining: 3, reset: 12 };

describe('Function: EtaEstimator', () => {
  it('estimates from a finished window and the rate limit: pages left ÷ limit per period', () => {
    // Prepare: 4 windows; one done in 100 pages, one 20 pages in
    let now = 0;
    const eta = new EtaEstimator(() => now);
    eta.planned(4);
    eta.update({ account: 'main', key: 'a', pages: 100, done: true, rateLimit: RL });
    eta.update({ account: 'main', key: 'b', pages: 20, done: false, rateLimit: RL });
    now = 60_000;

    // Act
    const e = eta.estimate();

    // Assess: 80 left in b, 2 × 100 not started = 280 pages at 10 per 30 s = 840 s
    expect(e).toMatchObject({ windows: 4, windowsDone: 1, pages: 120, pagesLeft: 280, basis: 'rate limit' });
    expect(e.etaMs).toBe(840_000);
  });

  it('estimates a single large window from how far into it its pages reach', () => {
    // Prepare: one window, 50 pages covering a quarter of the day
    const eta = new EtaEstimator(() => 0);
    eta.planned(1);

    // Act
    eta.update({ account: 'main', key: 'a', pages: 50, done: false, position: 0.25, rateLimit: RL });

    // Assess: 150 more pages at 1/3 request per second
    expect(eta.estimate()).toMatchObject({ pagesLeft: 150, etaMs: 450_000 });
  });

  it('adds up the accounts’ limits: each has its own', () => {
    // Prepare
    const eta = new EtaEstimator(() => 0);
    eta.planned(4);
    eta.update({ account: 'a', key: 'a1', pages: 30, done: true, rateLimit: RL });
    eta.update({ account: 'b', key: 'b1', pages: 30, done: true, rateLimit: RL });

    // Act / Assess: 60 pages left at 2 × 10 per 30 s
    expect(eta.estimate()).toMatchObject({ pagesLeft: 60, etaMs: 90_000 });
  });

  it('falls back to the throughput so far without rate-limit headers, and says when it cannot tell yet', () => {
    // Prepare
    let now = 0;
    const eta = new EtaEstimator(() => now);
    eta.planned(3);
    expect(describeEstimate(eta.estimate())).toBe('0/3 windows, 0 pages, time left: estimating');

    // Act
    eta.update({ account: 'main', key: 'a', pages: 10, done: true });
    now = 5_000;

    // Assess: 20 pages left at 2 pages per second
    expect(eta.estimate()).toMatchObject({ pagesLeft: 20, etaMs: 10_000, basis: 'throughput' });
  });
});

describe('Function: formatDuration', () => {
  it('reads like a person would say it', () => {
    expect([42_000, 7 * 60_000, 125 * 60_000, 5 * 86_400_000].map(formatDuration)).toEqual([
      '42 s',
      '7 min',
      '2 h 05 min',
      '5 days',
    ]);
  });
});
