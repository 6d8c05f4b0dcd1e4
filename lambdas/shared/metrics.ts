/**
 * CloudWatch embedded metric format: one JSON log line that CloudWatch turns into metrics, with no
 * API call and no extra latency.
 */
export const METRICS_NAMESPACE = 'DatadogUsageLake';

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

export function emfLine(
  dimensions: Record<string, string>,
  metrics: Record<string, { value: number; unit: MetricUnit }>,
  timestamp: number = Date.now(),
): string {
  const values = Object.fromEntries(Object.entries(metrics).map(([name, m]) => [name, m.value]));
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: Object.entries(metrics).map(([name, m]) => ({ Name: name, Unit: m.unit })),
        },
      ],
    },
    ...dimensions,
    ...values,
  });
}
