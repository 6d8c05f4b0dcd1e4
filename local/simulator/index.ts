/**
 * A simulated Datadog Usage Metering / Cost API, served over real HTTP on 127.0.0.1 (node:http only).
 *
 * It follows Datadog's documented behaviour: both keys on every request, `usage_read` and
 * (for cost) `billing_read`, parent-only endpoints answering 400 to child-org keys, calendar-aligned
 * rate-limit windows with the five X-RateLimit-* headers on every response, the real pagination
 * parameters and cursor locations, 15-month retention and the per-dataset availability dates.
 * All data is deterministic for a given seed and clock.
 *
 * One module per endpoint family (hourly-usage, summaries, cost, cost-attribution, usage-attribution,
 * validate) over a deterministic data model (model.ts); server.ts holds keys, scopes, the rate-limit
 * window (rate-limit.ts) and the fault queue (faults.ts). It plays Datadog from Datadog's documentation,
 * so it must not share the pipeline's assumptions: nothing here imports from lambdas/ or infra/
 * (test/unit/simulator-imports.test.ts).
 *
 * Categories (used by `served`, `expected` and `recordId`):
 * hourly_usage, billable_summary, usage_summary, historical_cost, estimated_cost, projected_cost,
 * cost_attribution, usage_attribution.
 *
 * Choices where the reference is silent (documented so tests and callers can rely on them):
 * - hourly_usage without `filter[timestamp][end]` ends after the current hour.
 * - Monthly endpoints treat `end_month` as inclusive. It defaults to the current month, except for
 *   estimated_cost where it defaults to `start_month` (the spec says "add end_month for month-over-month").
 * - Months or hours that are not available yet (future, or before the close date) are left out, not 400.
 * - usage_summary rows carry `orgs` only with `include_org_details=true`.
 * - Attribution rows have `tags: null` when no configured tag key was asked for in `tag_breakdown_keys`.
 * - `sort_name`/`sort_direction`, `include_connected_accounts`, `filter[versions]` and
 *   `filter[include_breakdown]` are accepted and ignored.
 * - `GET /api/v1/validate` checks the API key only (no application key, no scope): 200
 *   `{"valid":true}` or 403 `{"errors":["Forbidden"]}`.
 */
import { pathToFileURL } from 'node:url';
import { startSimulator } from './server.ts';

export type { Fault, FaultQueue } from './faults.ts';
export {
  type DatadogSimulator,
  type ServedRecord,
  SIMULATOR_KEYS,
  type SimulatorOptions,
  startSimulator,
} from './server.ts';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  const sim = await startSimulator({ port: Number.isFinite(port) ? port : 0 });
  console.log(sim.url);
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
