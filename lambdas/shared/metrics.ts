import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CategoryName } from '../categories.ts';

/**
 * CloudWatch embedded metric format through Powertools for AWS Lambda's Metrics: one JSON log line
 * that CloudWatch turns into metrics, with no API call and no extra latency.
 */
export const METRICS_NAMESPACE = 'DatadogUsageLake';

/** Dimensions: Powertools' `service` (the stack's name: each copy keeps its own metrics) and `Category`. */
export const DIMENSION = { service: 'service', category: 'Category' } as const;

/**
 * THE list of metrics the functions publish. The dashboard and the alarms
 * (infra/constructs/observability.ts) take their names, units and dimensions from here.
 * `category`: per fetch invocation, with the Category dimension; `run`: once per run.
 */
export const METRICS = {
  Pages: { unit: MetricUnit.Count, per: 'category' },
  Records: { unit: MetricUnit.Count, per: 'category' },
  Bytes: { unit: MetricUnit.Bytes, per: 'category' },
  Throttles: { unit: MetricUnit.Count, per: 'category' },
  Retries: { unit: MetricUnit.Count, per: 'category' },
  WindowsCompleted: { unit: MetricUnit.Count, per: 'category' },
  InvocationDuration: { unit: MetricUnit.Milliseconds, per: 'category' },
  RunsCompleted: { unit: MetricUnit.Count, per: 'run' },
  RunsWithFailures: { unit: MetricUnit.Count, per: 'run' },
  FailedWindows: { unit: MetricUnit.Count, per: 'run' },
  RunRecords: { unit: MetricUnit.Count, per: 'run' },
} as const;

export type MetricName = keyof typeof METRICS;
type Per<P> = { [K in MetricName]: (typeof METRICS)[K]['per'] extends P ? K : never }[MetricName];
export type CategoryMetric = Per<'category'>;
export type RunMetric = Per<'run'>;

export interface LakeMetrics {
  /** One fetch invocation's figures (deltas: CloudWatch sums them per category). */
  category(category: CategoryName, values: Record<CategoryMetric, number>): void;
  /** One run's figures. */
  run(values: Record<RunMetric, number>): void;
}

/**
 * Metrics published at once (one EMF line per call). Without `write` the line goes to stdout as in
 * Lambda; with one, to `write` (Powertools prints through a Console of its own, replaced here).
 */
export function createMetrics(options: { service: string; write?: (line: string) => void }): LakeMetrics {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: options.service,
    ...(options.write ? { logger: { debug() {}, info() {}, warn() {}, error() {} } } : {}),
  });
  const write = options.write;
  if (write) Object.assign(metrics, { console: { log: (line: unknown) => write(String(line)) } });
  const publish = (values: Partial<Record<MetricName, number>>) => {
    for (const [name, value] of Object.entries(values) as Array<[MetricName, number]>) {
      metrics.addMetric(name, METRICS[name].unit, value);
    }
    metrics.publishStoredMetrics();
  };
  return {
    category: (category, values) => {
      metrics.addDimension(DIMENSION.category, category);
      publish(values);
    },
    run: (values) => publish(values),
  };
}

/** Metrics that go nowhere: local runs and tests that do not look at them. */
export const silentMetrics: LakeMetrics = createMetrics({ service: 'local', write: () => {} });
