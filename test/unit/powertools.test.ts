import { createServer } from 'node:http';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import AWSXRay from 'aws-xray-sdk-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../infra/config.ts';
import { synthesizeStack } from '../../infra/definition.ts';
import { DatadogClient } from '../../lambdas/shared/datadog-client.ts';
import { createPowertoolsLogger, fromPowertools } from '../../lambdas/shared/log.ts';
import { createMetrics, METRICS, METRICS_NAMESPACE } from '../../lambdas/shared/metrics.ts';
import { withPowertools } from '../../lambdas/shared/runtime.ts';
import { type DatadogSimulator, startSimulator } from '../../local/simulator/index.ts';
import { listenOnLoopback } from '../../local/simulator/loopback.ts';

const context = (requestId: string) =>
  ({
    awsRequestId: requestId,
    functionName: 'DatadogUsageLake-fetch',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:DatadogUsageLake-fetch',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 300_000,
  }) as unknown as Context;

describe('Function: withPowertools (the deployed handlers’ wrapper)', () => {
  afterEach(() => {
    delete process.env._X_AMZN_TRACE_ID;
    delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  });

  it('puts the request id, cold start and X-Ray trace id on every log line', async () => {
    // Prepare: a handler logging through the runtime's logger, a Tracer that is off (not in Lambda)
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    const lines: string[] = [];
    const logger = createPowertoolsLogger({ serviceName: 'DatadogUsageLake', sink: (l) => lines.push(l) });
    const log = fromPowertools(logger).child({ run_id: 'r1', category: 'hourly_usage' });
    const handler = withPowertools(
      async (event: { n: number }) => {
        log.info('window complete', { records: event.n });
        return event.n;
      },
      { logger, tracer: new Tracer({ enabled: false }) },
    );
    const traceId = '1-6756f1a2-0123456789abcdef01234567';
    process.env._X_AMZN_TRACE_ID = `Root=${traceId};Parent=53995c3f42cd8ad8;Sampled=1`;

    // Act: two invocations of one container
    await handler({ n: 1 }, context('req-1'));
    await handler({ n: 2 }, context('req-2'));

    // Assess
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).toMatchObject({
      level: 'INFO',
      message: 'window complete',
      service: 'DatadogUsageLake',
      function_request_id: 'req-1',
      cold_start: true,
      xray_trace_id: traceId,
      run_id: 'r1',
      category: 'hourly_usage',
      records: 1,
    });
    expect(second).toMatchObject({ function_request_id: 'req-2', cold_start: false, xray_trace_id: traceId });
  });
});

describe('Function: createMetrics', () => {
  it('writes one EMF line per call, in the namespace, with the service (and category) dimensions', () => {
    // Prepare
    const lines: string[] = [];
    const metrics = createMetrics({ service: 'DatadogUsageLake', write: (l) => lines.push(l) });

    // Act
    metrics.category('hourly_usage', {
      Pages: 3,
      Records: 1500,
      Bytes: 60_000,
      Throttles: 0,
      Retries: 1,
      WindowsCompleted: 1,
      InvocationDuration: 812,
    });
    metrics.run({ RunsCompleted: 1, RunsWithFailures: 1, FailedWindows: 2, RunRecords: 1500 });

    // Assess
    const [category, run] = lines.map((l) => JSON.parse(l));
    expect(category._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [['service', 'Category']],
    });
    expect(category).toMatchObject({ service: 'DatadogUsageLake', Category: 'hourly_usage', Records: 1500 });
    expect(category._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: 'Bytes', Unit: 'Bytes' });
    expect(run._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(run).toMatchObject({ FailedWindows: 2 });
    expect(run).not.toHaveProperty('Category');
  });
});

describe('Stack: dashboard and alarms read the one metric list', () => {
  it('names only metrics of lambdas/shared/metrics.ts, in this stack’s service', () => {
    // Prepare
    const { template } = synthesizeStack(parseSettings({ stackName: 'LakeCopy' }));

    // Act
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .filter((p) => p.Namespace === METRICS_NAMESPACE);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    const graphed = [
      ...body.matchAll(
        /\[\\"DatadogUsageLake\\",\\"(\w+)\\",(?:\\"Category\\",\\"\w+\\",)?\\"service\\",\\"LakeCopy\\"/g,
      ),
    ].map((m) => m[1]);

    // Assess
    expect(alarms.map((a) => a.MetricName)).toEqual(['FailedWindows']);
    expect(alarms[0]?.Dimensions).toEqual([{ Name: 'service', Value: 'LakeCopy' }]);
    expect(graphed.length).toBeGreaterThan(5);
    for (const name of graphed) expect(Object.keys(METRICS)).toContain(name);
    // Every metric of the namespace the dashboard graphs is one of those, with the service dimension.
    expect(body.split('[\\"DatadogUsageLake\\"').length - 1).toBe(graphed.length);
  });
});

describe('Traces: S3, Secrets Manager and Datadog calls become X-Ray subsegments', () => {
  let sim: DatadogSimulator;
  let secrets: ReturnType<typeof createServer>;
  let secretsUrl: string;

  beforeAll(async () => {
    sim = await startSimulator({ apiKey: 'trace-api-key', appKey: 'trace-app-key' });
    // Secrets Manager's JSON protocol, enough for GetSecretValue
    secrets = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/x-amz-json-1.1');
        res.end(JSON.stringify({ Name: 'dd/main', SecretString: '{"apiKey":"a","appKey":"b"}' }));
      });
    });
    secretsUrl = (await listenOnLoopback(secrets)).url;
  });
  afterAll(async () => {
    await sim.close();
    await new Promise((r) => secrets.close(r));
  });

  it('adds a subsegment per call, named after the service or host, never with a key in it', async () => {
    // Prepare: a Tracer as in Lambda, inside an X-Ray segment
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
    process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
    const tracer = new Tracer({ serviceName: 'DatadogUsageLake' });
    delete process.env.AWS_EXECUTION_ENV;
    const client = tracer.captureAWSv3Client(
      new SecretsManagerClient({
        endpoint: secretsUrl,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      }),
    );
    const datadog = new DatadogClient({
      site: 'datadoghq.com',
      apiKey: 'trace-api-key',
      appKey: 'trace-app-key',
      baseUrlOverride: sim.url,
    });
    const segment = new AWSXRay.Segment('test');

    // Act
    await AWSXRay.getNamespace().runPromise(async () => {
      AWSXRay.setSegment(segment);
      await client.send(new GetSecretValueCommand({ SecretId: 'dd/main' }));
      await datadog.get('/api/v1/usage/billable-summary', { month: '2026-10' });
    });

    // Assess
    const subsegments = (segment.subsegments ?? []) as unknown as Array<{
      name: string;
      namespace?: string;
      http?: { request?: { url?: string }; response?: { status?: number } };
    }>;
    expect(tracer.isTracingEnabled()).toBe(true);
    expect(subsegments.map((s) => s.name)).toEqual(['SecretsManager', '127.0.0.1']);
    const dd = subsegments[1];
    expect(dd?.namespace).toBe('remote');
    // Tracer records scheme, host and path: no port, and no query string
    expect(dd?.http?.request?.url).toBe('http://127.0.0.1/api/v1/usage/billable-summary');
    expect(dd?.http?.response?.status).toBe(200);
    expect(JSON.stringify(segment)).not.toMatch(/trace-api-key|trace-app-key/);
  });
});
