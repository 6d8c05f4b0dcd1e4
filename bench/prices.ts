/**
 * Public AWS prices, us-east-1, the only place the bench keeps them. No free tier is applied.
 * Sources: aws.amazon.com/step-functions/pricing, /lambda/pricing, /s3/pricing, /cloudwatch/pricing.
 */
export const PRICES = {
  region: 'us-east-1',
  /** Step Functions Standard workflows, per state transition ($0.025 per 1,000). */
  stepFunctionsPerTransition: 0.025 / 1_000,
  /** Lambda on arm64 (Graviton), per GB-second of billed duration. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** Lambda, per request ($0.20 per 1M). */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** S3 Standard PUT, COPY, POST, LIST requests ($0.005 per 1,000). DELETE is free. */
  s3PutTierPerRequest: 0.005 / 1_000,
  /** S3 Standard GET, SELECT and all other requests, HEAD included ($0.0004 per 1,000). */
  s3GetTierPerRequest: 0.0004 / 1_000,
  /** S3 Standard storage, first 50 TB, per GB-month. */
  s3StoragePerGbMonth: 0.023,
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestionPerGb: 0.5,
  /** X-Ray, per trace recorded ($5.00 per 1M). */
  xrayPerTrace: 5 / 1_000_000,
  /** CloudWatch custom metric (EMF), per metric-month, prorated by the hour it receives data (730 h a month). */
  customMetricPerMonth: 0.3,
  /** CloudWatch standard-resolution alarm, per alarm-month. */
  alarmPerMonth: 0.1,
  /** CloudWatch dashboard, per month (an account's first 3 are free). */
  dashboardPerMonth: 3,
  /** KMS customer managed key, per month (requests: $0.03 per 10,000, a few per alarm or dead letter). */
  kmsKeyPerMonth: 1,
  /** Secrets Manager, per secret-month (API calls: $0.05 per 10,000, cached 5 minutes per container). */
  secretPerMonth: 0.4,
} as const;

export const HOURS_PER_MONTH = 730;

/** S3 operations by price tier (DeleteObject is free; DeleteObjects is a POST). */
export const S3_TIER: Record<string, 'put' | 'get' | 'free'> = {
  PutObject: 'put',
  CopyObject: 'put',
  ListObjectsV2: 'put',
  DeleteObjects: 'put',
  CreateMultipartUpload: 'put',
  UploadPart: 'put',
  CompleteMultipartUpload: 'put',
  GetObject: 'get',
  HeadObject: 'get',
  DeleteObject: 'free',
};

/** Memory the functions are deployed with (infra/datadog-usage-stack.ts, infra/constructs/lake-function.ts). */
export const LAMBDA_MEMORY_MB = { fetch: 512, plan: 256, summarize: 256 } as const;

/**
 * Log volume the local run cannot see, as estimates (bytes):
 * - Lambda platform lines per invocation (START, END, REPORT in JSON log format);
 * - Step Functions execution logs at level ALL without execution data, per history event, and
 *   history events per state transition (entered + exited, plus scheduled/started/succeeded for a Task).
 */
export const LOG_ESTIMATES = {
  lambdaPlatformBytesPerInvocation: 700,
  stepFunctionsBytesPerEvent: 350,
  stepFunctionsEventsPerTransition: 2,
  stepFunctionsExtraEventsPerTask: 3,
} as const;
