/**
 * Section 2 — requests: HTTP requests the real local state machine (runLocal) makes for hourly usage,
 * counted at the simulator, against the minimum ⌈records / 500⌉ per window.
 */
import { DEFAULT_OPTIONS } from '../lambdas/categories.ts';
import {
  addDaysIso,
  dayWindows,
  HOURLY_PATH,
  hourlyWork,
  log,
  NO_LIMIT,
  startBenchHarness,
} from './common.ts';

export interface RequestsConfig {
  days: number[];
  orgs: number[];
  /** Last day of every range (exclusive end = the day after). */
  lastDay: string;
  /** Only the pairs (orgs[i], days[i]) instead of the whole grid. */
  diagonal?: boolean;
}

export interface RequestsRow {
  orgs: number;
  days: number;
  windows: number;
  records: number;
  requests: number;
  minimum: number;
  extra: number;
  non200: number;
  stateTransitions: number;
  fetchInvocations: number;
  elapsedMs: number;
  status: string;
}

export async function runRequests(config: RequestsConfig): Promise<RequestsRow[]> {
  const rows: RequestsRow[] = [];
  for (const [i, orgs] of config.orgs.entries()) {
    const env = await startBenchHarness({ orgs, rateLimit: NO_LIMIT });
    try {
      for (const days of config.diagonal ? config.days.slice(i, i + 1) : config.days) {
        const first = addDaysIso(config.lastDay, -(days - 1));
        const end = addDaysIso(config.lastDay, 1);
        const before = env.sim.requests.length;
        const result = await env.run(
          { account: 'main', categories: ['hourly_usage'], start: first, end },
          { executionName: `bench-requests-${orgs}-${days}` },
        );
        const sent = env.sim.requests.slice(before).filter((r) => r.path === HOURLY_PATH);
        const windows = dayWindows(first, days);
        const { records, minimum } = hourlyWork(env.sim, windows, DEFAULT_OPTIONS);
        const summary = result.output.output.categories.hourly_usage;
        if (summary?.records !== records) {
          throw new Error(
            `requests: ${orgs} orgs × ${days} d landed ${summary?.records} records, expected ${records}`,
          );
        }
        rows.push({
          orgs,
          days,
          windows: windows.length,
          records,
          requests: sent.length,
          minimum,
          extra: sent.length - minimum,
          non200: sent.filter((r) => r.status !== 200).length,
          stateTransitions: result.stats.stateTransitions,
          fetchInvocations: result.stats.invocations['Fetch hourly_usage'] ?? 0,
          elapsedMs: result.stats.elapsedMs,
          status: result.output.execution_status,
        });
        log(`  requests: ${orgs} org(s) × ${days} day(s): ${sent.length} requests, minimum ${minimum}`);
      }
    } finally {
      await env.close();
    }
  }
  return rows;
}
