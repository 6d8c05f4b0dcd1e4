/**
 * `npm run doctor`: checks that a run will work, and says how to fix what will not. Deliberately
 * no import of local/node20.ts: with --deployed this may run on an instance with a role, whose
 * credentials come from the instance metadata that node20.ts turns off.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Dispatcher } from 'undici';
import { type LakeSettings, loadCdkJsonSettings } from '../infra/config.ts';
import {
  CATEGORY_NAMES,
  type CategoryName,
  type CategoryOptions,
  DEFAULT_OPTIONS,
  isCategoryName,
} from '../lambdas/categories.ts';
import {
  ACCOUNT_NAME_FORM,
  ACCOUNT_NAME_PATTERN,
  type AccountConfig,
  isSafePrefix,
} from '../lambdas/shared/config.ts';
import { DatadogClient } from '../lambdas/shared/datadog-client.ts';
import { InputError, SecretError } from '../lambdas/shared/errors.ts';
import { createS3Client } from '../lambdas/shared/s3.ts';
import { type DatadogKeys, keysFromEnv, secretsManagerLoader } from '../lambdas/shared/secrets.ts';
import { DEFAULT_SITE, isDatadogSite } from '../lambdas/shared/sites.ts';
import { checkUrl } from '../local/flags.ts';
import { type LocalS3, localS3Client, startS3Server } from '../local/s3-server.ts';
import { SIMULATOR_KEYS, startSimulator } from '../local/simulator/index.ts';
import { type AccountTarget, checkAccount } from './doctor/account.ts';
import { type BucketTarget, checkBucket } from './doctor/bucket.ts';
import { checkDeployment, type DeployedDeps, readStack, type StackOutputs } from './doctor/deployed.ts';
import { type Check, pass, renderJson, renderText, type Section } from './doctor/report.ts';

const HELP = `Usage: npm run doctor -- [flags]

Checks that a run will work, before the first one and whenever something breaks: the Datadog keys
of each account and what they may read, the bucket, and with --deployed the deployed stack.
Prints one line per check, ✓ or ✗; each ✗ says why and how to fix it.

Accounts and keys (the same choice as npm start):
  (nothing set)               the built-in Datadog simulator
  DD_API_KEY, DD_APP_KEY      the keys in the environment, for one account; DD_SITE names its site
  --secrets                   the accounts in cdk.json, their keys read from Secrets Manager
  --deployed                  as --secrets, plus the deployed stack: state machine, schedules, the
                              last scheduled run and its failed windows, the dead-letter queue
  --account NAME              only this account (default: every configured one, or "main")
  --categories LIST           categories to check, comma-separated or "all" (default: cdk.json's)
  --include-descendants       include child orgs (default); --no-include-descendants to turn off
  --datadog-url URL           a Datadog-compatible API (a simulator, a test server); keys from
                              Secrets Manager never go anywhere but https://api.<site>, so not with
                              --secrets or --deployed

Bucket:
  --bucket NAME               an S3 bucket (default: the stack's with --deployed, cdk.json's
                              bucketName with --secrets, otherwise an embedded S3 server)
  --s3-endpoint URL           an S3-compatible endpoint for --bucket
  --prefix PREFIX             key prefix (default: the stack's or cdk.json's, "datadog")
  --data-dir DIR              where the embedded S3 server stores objects (default: .local)

Stack (--deployed; AWS credentials and region from the environment: AWS_PROFILE, AWS_REGION):
  --stack NAME                the CloudFormation stack (default: DatadogUsageLake)

Output:
  --json                      a machine-readable report on stdout: {ok, checks: [{name, ok,
                              detail, cause, fix}]}
  --help
Exit code: 0 when every check holds, 1 when one fails, 2 for bad flags or settings.`;

/** What the doctor talks to; tests replace any of it. */
export interface DoctorDeps {
  /** The report (stdout). */
  out(line: string): void;
  /** Notes on what is being checked (stderr). */
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  now(): Date;
  /** cdk.json's settings: accounts, categories, prefix, bucket, schedule. */
  settings(): LakeSettings;
  /** Every Datadog request goes through it (default: the client's keep-alive agent). */
  dispatcher?: Dispatcher;
  startSimulator(): Promise<{ url: string; close(): Promise<void> }>;
  startS3Server(directory: string): Promise<LocalS3>;
  /** A client for an S3-compatible endpoint, or for S3 itself in `region`. */
  s3Client(endpoint: string | undefined, region: string): S3Client;
  aws(region: string): Omit<DeployedDeps, 'region' | 'now'> & { secrets: SecretsManagerClient };
  /** Names the bucket probe object. */
  probeId(): string;
}

export function defaultDeps(): DoctorDeps {
  return {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: process.env,
    now: () => new Date(),
    settings: () => loadCdkJsonSettings(),
    startSimulator: () => startSimulator(),
    startS3Server: (directory) => startS3Server({ directory, bucket: 'local' }),
    s3Client: (endpoint, region) => (endpoint ? localS3Client(endpoint) : createS3Client({ region })),
    aws: (region) => ({
      cfn: new CloudFormationClient({ region }),
      sfn: new SFNClient({ region }),
      scheduler: new SchedulerClient({ region }),
      sqs: new SQSClient({ region }),
      secrets: new SecretsManagerClient({ region }),
    }),
    probeId: () => `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`,
  };
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    allowNegative: true,
    options: {
      account: { type: 'string' },
      categories: { type: 'string' },
      'include-descendants': { type: 'boolean', default: DEFAULT_OPTIONS.includeDescendants },
      'datadog-url': { type: 'string' },
      secrets: { type: 'boolean', default: false },
      deployed: { type: 'boolean', default: false },
      bucket: { type: 'string' },
      's3-endpoint': { type: 'string' },
      prefix: { type: 'string' },
      'data-dir': { type: 'string', default: '.local' },
      stack: { type: 'string', default: 'DatadogUsageLake' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
}

type Flags = ReturnType<typeof parseFlags>;

function parseCategories(value: string | undefined, settings: LakeSettings): CategoryName[] {
  if (value === undefined) return settings.categories;
  const list = value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (list.length === 1 && list[0] === 'all') return [...CATEGORY_NAMES];
  if (list.length === 0)
    throw new InputError('categories', `expected one of ${CATEGORY_NAMES.join(', ')}, or "all"`);
  list.forEach((c, i) => {
    if (!isCategoryName(c))
      throw new InputError(`categories[${i}]`, `"${c}" is not one of ${CATEGORY_NAMES.join(', ')}, or "all"`);
  });
  return [...new Set(list as CategoryName[])];
}

/** Everything the flags and settings decide, checked before any server starts or request goes out. */
interface Plan {
  flags: Flags;
  settings: LakeSettings;
  categories: CategoryName[];
  categoriesFrom: string;
  options: CategoryOptions;
  fromSecrets: boolean;
  region: string;
}

function plan(flags: Flags, deps: DoctorDeps): Plan {
  const fromSecrets = flags.secrets || flags.deployed;
  if (flags.account !== undefined && !ACCOUNT_NAME_PATTERN.test(flags.account)) {
    throw new InputError(
      'account',
      `${JSON.stringify(flags.account)} is not a valid account name (${ACCOUNT_NAME_FORM})`,
    );
  }
  if (flags.prefix !== undefined && !isSafePrefix(flags.prefix)) {
    throw new InputError(
      'prefix',
      `"${flags.prefix}" is not a safe S3 prefix (segments of letters, digits, ".", "_", "-" separated by "/")`,
    );
  }
  checkUrl('datadog-url', flags['datadog-url']);
  checkUrl('s3-endpoint', flags['s3-endpoint']);
  if (flags['s3-endpoint'] && !flags.bucket) throw new InputError('bucket', 'required with --s3-endpoint');
  if (fromSecrets && flags['datadog-url']) {
    throw new InputError(
      'datadog-url',
      'not with --secrets or --deployed: keys from Secrets Manager only ever go to https://api.<site>',
    );
  }
  let settings: LakeSettings;
  try {
    settings = deps.settings();
  } catch (error) {
    throw new InputError('cdk.json', (error as Error).message);
  }
  if (fromSecrets && flags.account && !settings.accounts.some((a) => a.name === flags.account)) {
    throw new InputError(
      'account',
      `"${flags.account}" is not in cdk.json; configured: ${settings.accounts.map((a) => a.name).join(', ')}`,
    );
  }
  return {
    flags,
    settings,
    categories: parseCategories(flags.categories, settings),
    categoriesFrom:
      flags.categories === undefined ? 'cdk.json, context datadog-usage-lake.categories' : '--categories',
    options: { ...DEFAULT_OPTIONS, includeDescendants: flags['include-descendants'] ?? true },
    fromSecrets,
    region: deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  };
}

/** The local account: keys from the environment, the simulator's placeholders, or the built-in simulator. */
function localTarget(
  name: string,
  env: NodeJS.ProcessEnv,
  datadogUrl: string | undefined,
): AccountTarget & { needsSimulator: boolean } {
  const envSite = env.DD_SITE && isDatadogSite(env.DD_SITE) ? env.DD_SITE : DEFAULT_SITE;
  const account: AccountConfig = { name, secretName: 'local', site: envSite };
  if (env.DD_API_KEY || env.DD_APP_KEY) {
    return {
      account,
      source: { kind: 'env' },
      needsSimulator: false,
      loadKeys: async () => {
        const keys = keysFromEnv(env);
        if (!keys) {
          const [set, unset] = env.DD_API_KEY ? ['DD_API_KEY', 'DD_APP_KEY'] : ['DD_APP_KEY', 'DD_API_KEY'];
          throw new SecretError(`${unset} is not set, but ${set} is`);
        }
        return keys;
      },
    };
  }
  const placeholder = async (): Promise<DatadogKeys> => ({ ...SIMULATOR_KEYS, site: envSite });
  return datadogUrl
    ? {
        account,
        source: { kind: 'placeholder', url: datadogUrl },
        needsSimulator: false,
        loadKeys: placeholder,
      }
    : { account, source: { kind: 'simulator' }, needsSimulator: true, loadKeys: placeholder };
}

export async function main(argv: string[], overrides: Partial<DoctorDeps> = {}): Promise<number> {
  const deps: DoctorDeps = { ...defaultDeps(), ...overrides };
  let flags: Flags;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    deps.err(`Invalid input: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    deps.out(HELP);
    return 0;
  }
  let p: Plan;
  try {
    p = plan(flags, deps);
  } catch (error) {
    if (error instanceof InputError) {
      deps.err(`Invalid input: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const now = deps.now();
  const sections: Section[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  try {
    // The stack first: with --deployed, the bucket and prefix are its outputs.
    let stack: { check: Check; outputs: StackOutputs | undefined } | undefined;
    let aws: ReturnType<DoctorDeps['aws']> | undefined;
    if (p.fromSecrets) aws = deps.aws(p.region);
    if (flags.deployed && aws) stack = await readStack(flags.stack, { cfn: aws.cfn, region: p.region });

    // Accounts
    let datadogUrl = flags['datadog-url'];
    const targets: AccountTarget[] = [];
    if (p.fromSecrets && aws) {
      const load = secretsManagerLoader(aws.secrets);
      for (const account of p.settings.accounts.filter((a) => !flags.account || a.name === flags.account)) {
        targets.push({
          account,
          source: { kind: 'secret' },
          loadKeys: () => load(account.secretName, account.site),
        });
      }
      deps.err(
        `Datadog: the accounts in cdk.json, keys from Secrets Manager (${p.region}), sent only to https://api.<site>.`,
      );
    } else {
      const target = localTarget(flags.account ?? 'main', deps.env, datadogUrl);
      if (target.needsSimulator) {
        const sim = await deps.startSimulator();
        cleanups.push(() => sim.close());
        datadogUrl = sim.url;
        deps.err(`No DD_API_KEY/DD_APP_KEY set: checking the built-in Datadog simulator at ${sim.url}.`);
      } else {
        deps.err(
          `Datadog: ${datadogUrl ?? `https://api.${target.account.site}`} (${target.source.kind === 'env' ? 'keys from DD_API_KEY/DD_APP_KEY' : "the simulator's placeholder keys"}).`,
        );
      }
      targets.push(target);
    }
    const client = (keys: DatadogKeys) =>
      new DatadogClient({
        ...keys,
        baseUrlOverride: datadogUrl,
        dispatcher: deps.dispatcher,
        headersTimeoutMs: 15_000,
        bodyTimeoutMs: 30_000,
        maxRetries: 1,
        baseDelayMs: 250,
        maxInlineWaits: 1,
      });
    for (const target of targets) {
      const checks = await checkAccount(
        target,
        { categories: p.categories, options: p.options, now, categoriesFrom: p.categoriesFrom },
        { client },
      );
      sections.push({ title: `Datadog account ${target.account.name} (${target.account.site})`, checks });
    }

    // Bucket
    const bucket = await bucketTarget(p, stack?.outputs, deps, cleanups);
    if (typeof bucket === 'string') {
      sections.push({ title: 'Bucket', checks: [pass('bucket', 'reachable', bucket)] });
    } else {
      const checks = await checkBucket(bucket, { probeId: deps.probeId(), now });
      sections.push({
        title: `Bucket s3://${bucket.bucket}/${bucket.prefix ? `${bucket.prefix}/` : ''}`,
        checks,
      });
    }

    // Stack
    if (stack && aws) {
      const checks = [stack.check];
      if (stack.outputs) {
        checks.push(
          ...(await checkDeployment(flags.stack, stack.outputs, p.settings.schedule, {
            ...aws,
            region: p.region,
            now,
          })),
        );
      }
      sections.push({ title: `Stack ${flags.stack} (${p.region})`, checks });
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }

  if (flags.json) deps.out(renderJson(sections));
  else for (const line of renderText(sections)) deps.out(line);
  return sections.every((s) => s.checks.every((c) => c.ok)) ? 0 : 1;
}

/** The bucket to check, or why there is none to check yet. */
async function bucketTarget(
  p: Plan,
  outputs: StackOutputs | undefined,
  deps: DoctorDeps,
  cleanups: Array<() => Promise<void>>,
): Promise<BucketTarget | string> {
  const { flags, settings } = p;
  const endpoint = flags['s3-endpoint'];
  if (flags.bucket) {
    const prefix = flags.prefix ?? (p.fromSecrets ? (outputs?.dataPrefix ?? settings.prefix) : 'datadog');
    return {
      s3: deps.s3Client(endpoint, p.region),
      bucket: flags.bucket,
      prefix,
      kind: endpoint ? 'endpoint' : 'aws',
      ...(endpoint ? { where: `at ${endpoint}` } : {}),
    };
  }
  if (p.fromSecrets) {
    const name = outputs?.bucketName ?? settings.bucketName;
    const prefix = flags.prefix ?? outputs?.dataPrefix ?? settings.prefix;
    if (!name) {
      return flags.deployed
        ? 'not checked: the stack names no bucket (see the stack checks)'
        : 'not checked: cdk deploy creates the bucket; once deployed, run npm run doctor -- --deployed';
    }
    return {
      s3: deps.s3Client(undefined, p.region),
      bucket: name,
      prefix,
      kind: 'aws',
      where: outputs?.bucketName ? `the stack's BucketName` : 'cdk.json bucketName',
    };
  }
  const directory = path.resolve(flags['data-dir'] ?? '.local', 's3');
  const server = await deps.startS3Server(directory);
  cleanups.push(() => server.close());
  deps.err(`S3: embedded S3-compatible server at ${server.endpoint}, storing under ${directory}.`);
  return {
    s3: server.client,
    bucket: server.bucket,
    prefix: flags.prefix ?? 'datadog',
    kind: 'embedded',
    where: `embedded S3 server at ${server.endpoint}`,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`Doctor failed: ${(error as Error).name}: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
