import './node20.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadCdkJsonSettings } from '../infra/config.ts';
import { CATEGORIES, CATEGORY_NAMES } from '../lambdas/categories.ts';
import { parseRunInput } from '../lambdas/core/run-input.ts';
import { windowOf } from '../lambdas/core/windows.ts';
import {
  ACCOUNT_NAME_FORM,
  ACCOUNT_NAME_PATTERN,
  type AccountConfig,
  isSafePrefix,
  prefixLengthProblem,
} from '../lambdas/shared/config.ts';
import { InputError } from '../lambdas/shared/errors.ts';
import { createS3Client } from '../lambdas/shared/s3.ts';
import { type DatadogKeys, keysFromEnv } from '../lambdas/shared/secrets.ts';
import { describeEstimate, EtaEstimator } from './eta.ts';
import { checkUrl, INPUT_HELP, INPUT_OPTIONS, inputFromFlags } from './flags.ts';
import { type Progress, runLocal } from './runner.ts';
import { localS3Client, startS3Server } from './s3-server.ts';
import { SIMULATOR_KEYS, startSimulator } from './simulator/index.ts';

const HELP = `Usage: npm start -- [flags]

Runs the pipeline's state machine locally (the definition cdk deploys), against Datadog or the
built-in simulator, writing to S3 or to an embedded S3-compatible server.

Input (mirrors the state machine input):
${INPUT_HELP}
  Defaults here: --account main, --categories hourly_usage, the last 3 days (--lookback P3D).
  Categories: ${CATEGORY_NAMES.join(', ')}

Where things go:
  --datadog-url URL           a Datadog-compatible API (default: https://api.<DD_SITE> with
                              DD_API_KEY/DD_APP_KEY, or the built-in simulator without them)
  --bucket NAME               an S3 bucket (default: an embedded S3 server, bucket "local")
  --s3-endpoint URL           an S3-compatible endpoint for --bucket
  --prefix PREFIX             key prefix in the bucket (default: datadog)
  --data-dir DIR              where the embedded S3 server stores objects (default: .local)

Output:
  --quiet                     no progress lines
  --help
Exit code: 0 for S_OK, 1 for E_FAIL or a failed run, 2 for bad input.`;

type Flags = ReturnType<typeof parseFlags>;

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    allowNegative: true,
    options: {
      ...INPUT_OPTIONS,
      account: { type: 'string', default: 'main' },
      categories: { type: 'string', default: 'hourly_usage' },
      'datadog-url': { type: 'string' },
      bucket: { type: 'string' },
      's3-endpoint': { type: 'string' },
      prefix: { type: 'string', default: 'datadog' },
      'data-dir': { type: 'string', default: '.local' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
}

async function ensureBucket(s3: S3Client, bucket: string, create: boolean): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 && create) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      return;
    }
    if (status === 404) throw new InputError('bucket', `bucket "${bucket}" does not exist`);
    throw error;
  }
}

function progressLine(p: Progress, eta: EtaEstimator): string {
  const partition = windowOf(CATEGORIES[p.category].window, new Date(p.windowStart)).partition;
  eta.update({
    account: p.account,
    key: `${p.category} ${p.account} ${partition}`,
    pages: p.pages,
    done: p.status === 'done',
    position: p.position,
    rateLimit: p.rateLimit,
  });
  const state =
    p.status === 'done'
      ? 'done'
      : p.status === 'wait'
        ? `rate limited, waiting ${p.waitSeconds}s`
        : 'continuing';
  return `  ${p.category.padEnd(18)} ${p.account} ${partition.padEnd(16)} ${String(p.pages).padStart(4)} pages ${String(p.records).padStart(8)} records  ${state.padEnd(12)} · ${describeEstimate(eta.estimate())}`;
}

export async function main(argv: string[]): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    console.error(`Error: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const out = (line: string) => {
    if (!flags.quiet) console.error(line);
  };

  // Everything the user typed is checked before any server starts or any request goes out.
  const input = inputFromFlags(flags);
  const account = flags.account ?? 'main';
  const prefix = flags.prefix ?? 'datadog';
  const { stackName, mapConcurrency, windowConcurrency, categories } = loadCdkJsonSettings();
  let envKeys: DatadogKeys | undefined;
  try {
    if (!ACCOUNT_NAME_PATTERN.test(account)) {
      throw new InputError(
        'account',
        `${JSON.stringify(account)} is not a valid account name (${ACCOUNT_NAME_FORM})`,
      );
    }
    if (!isSafePrefix(prefix)) {
      throw new InputError(
        'prefix',
        `"${prefix}" is not a safe S3 prefix (segments of letters, digits, ".", "_", "-" separated by "/")`,
      );
    }
    const tooLong = prefixLengthProblem(prefix);
    if (tooLong) throw new InputError('prefix', tooLong);
    checkUrl('datadog-url', flags['datadog-url']);
    checkUrl('s3-endpoint', flags['s3-endpoint']);
    if (flags['s3-endpoint'] && !flags.bucket) throw new InputError('bucket', 'required with --s3-endpoint');
    envKeys = keysFromEnv();
    const accounts: AccountConfig[] = [
      { name: account, secretName: 'local', site: envKeys?.site ?? 'datadoghq.com' },
    ];
    parseRunInput(input, { now: new Date(), accounts, enabledCategories: categories });
  } catch (error) {
    if (error instanceof InputError || (error as Error).name === 'SecretError') {
      console.error(`Invalid input: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }

  const cleanups: Array<() => Promise<void>> = [];
  try {
    let datadogUrl = flags['datadog-url'];
    let keys = envKeys;
    if (!keys && !datadogUrl) {
      const sim = await startSimulator();
      cleanups.push(() => sim.close());
      datadogUrl = sim.url;
      keys = { ...SIMULATOR_KEYS, site: 'datadoghq.com' };
      out(
        `No DD_API_KEY/DD_APP_KEY set: using the built-in Datadog simulator at ${sim.url} (simulated data).`,
      );
    } else if (!keys) {
      keys = { ...SIMULATOR_KEYS, site: 'datadoghq.com' };
      out(
        `Datadog API: ${datadogUrl} (no DD_API_KEY/DD_APP_KEY set: sending the simulator's placeholder keys).`,
      );
    } else {
      out(`Datadog API: ${datadogUrl ?? `https://api.${keys.site}`} (keys from DD_API_KEY/DD_APP_KEY).`);
    }

    let s3: S3Client;
    let bucket: string;
    let where: string;
    if (flags.bucket) {
      bucket = flags.bucket;
      s3 = flags['s3-endpoint'] ? localS3Client(flags['s3-endpoint']) : createS3Client();
      await ensureBucket(s3, bucket, Boolean(flags['s3-endpoint']));
      where = `s3://${bucket}/${prefix ? `${prefix}/` : ''}${flags['s3-endpoint'] ? ` at ${flags['s3-endpoint']}` : ''}`;
    } else {
      const directory = path.resolve(flags['data-dir'] ?? '.local', 's3');
      const server = await startS3Server({ directory, bucket: 'local' });
      cleanups.push(() => server.close());
      s3 = server.client;
      bucket = server.bucket;
      where = path.join(directory, bucket, prefix);
      out(`S3: embedded S3-compatible server at ${server.endpoint}, storing under ${directory}`);
    }

    out(`Running the state machine locally: ${JSON.stringify(input)}`);
    const eta = new EtaEstimator();
    const result = await runLocal({
      input,
      settings: { stackName, mapConcurrency, windowConcurrency, categories },
      accounts: [{ name: account, secretName: 'local', site: keys.site }],
      keys,
      datadogUrl,
      s3,
      bucket,
      prefix,
      onPlan: (plan) => eta.planned(plan.windows),
      onProgress: (p) => out(progressLine(p, eta)),
    });
    console.log(JSON.stringify(result.output, null, 2));
    const t = result.output.output.totals;
    out(
      `\n${result.output.execution_status}: ${t.windows} windows, ${t.pages} pages, ${t.records} records, ${t.failed} failed, ${t.skipped} skipped${t.superseded ? `, ${t.superseded} superseded by a newer run` : ''} in ${(result.stats.elapsedMs / 1000).toFixed(1)} s`,
    );
    for (const [name, c] of Object.entries(result.output.output.categories)) {
      for (const f of c?.failures ?? [])
        out(`  ✗ ${name} ${f.account} ${f.window}: ${f.error}: ${f.message}`);
    }
    out(`Data: ${result.output.s3_url}${flags.bucket ? '' : `  (files under ${where})`}`);
    if (!flags.bucket && existsSync(where)) {
      const dataDir = flags['data-dir'] === '.local' ? '' : ` --data-dir ${flags['data-dir']}`;
      const prefixFlag = prefix === 'datadog' ? '' : ` --prefix ${prefix}`;
      out(
        `Query it (the Athena tables and views, in DuckDB):\n  npm run query --${dataDir}${prefixFlag} "SELECT product_family, sum(value) FROM hourly_usage_measurements GROUP BY 1"\n  npm run query${dataDir ? ` --${dataDir}` : ''}   (lists every table and view)`,
      );
    }
    return result.output.execution_status === 'S_OK' ? 0 : 1;
  } catch (error) {
    const e = error as Error;
    const cause = (e as { cause?: { name?: string; message?: string } }).cause;
    const name = cause?.name && cause.name !== 'Error' ? cause.name : e.name;
    console.error(`Run failed: ${name}: ${cause?.message ?? e.message}`);
    return name === 'InputError' ? 2 : 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`Run failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    },
  );
}
