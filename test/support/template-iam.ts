/**
 * The synthesized template as IAM sees it at run time: CloudFormation tokens resolved to fixed fake
 * physical names and ARNs, each role's identity policies, each resource's policy. Feeds a real IAM
 * policy evaluator (@cloud-copilot/iam-simulate, AGPL: a devDependency of the tests, never bundled).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const OTHER_ACCOUNT = '210987654321';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface Resource {
  Type: string;
  Properties?: Record<string, Json>;
}
export interface TemplateJson {
  Resources: Record<string, Resource>;
}
export type PolicyDocument = { Version?: string; Statement: Array<Record<string, Json>> };

/** AWS managed policies a template may attach, by name: their documents are not in the template. */
const MANAGED: Record<string, PolicyDocument> = {
  AWSLambdaBasicExecutionRole: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
};

const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

export class ResolvedTemplate {
  readonly resources: Record<string, Resource>;

  constructor(
    template: TemplateJson,
    readonly stackName = 'DatadogUsageLake',
  ) {
    this.resources = template.Resources;
  }

  /** The physical name CloudFormation would give the resource: its explicit name, else its logical id. */
  name(id: string): string {
    const r = this.resource(id);
    const p = r.Properties ?? {};
    const explicit: Record<string, string> = {
      'AWS::IAM::Role': 'RoleName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::S3::Bucket': 'BucketName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::CloudWatch::Alarm': 'AlarmName',
      'AWS::Scheduler::Schedule': 'Name',
      'AWS::Athena::WorkGroup': 'Name',
    };
    const key = explicit[r.Type];
    const value = key ? p[key] : undefined;
    if (value !== undefined) return this.resolve(value);
    return r.Type === 'AWS::S3::Bucket' ? id.toLowerCase() : id;
  }

  resource(id: string): Resource {
    const r = this.resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  }

  arn(id: string): string {
    const r = this.resource(id);
    const n = this.name(id);
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${n}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${n}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${n}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${n}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${REGION}:${ACCOUNT}:${n}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${n}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${n}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${n}:*`;
      case 'AWS::CloudWatch::Alarm':
        return `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${n}`;
      case 'AWS::Scheduler::Schedule':
        return `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/default/${n}`;
      default:
        throw new Error(`no ARN rule for ${r.Type} (${id})`);
    }
  }

  ref(id: string): string {
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::Region') return REGION;
    if (id === 'AWS::AccountId') return ACCOUNT;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    if (id === 'AWS::StackName') return this.stackName;
    const r = this.resource(id);
    switch (r.Type) {
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SNS::Topic':
        return this.arn(id);
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${this.name(id)}`;
      default:
        return this.name(id);
    }
  }

  getAtt(id: string, attribute: string): string {
    if (attribute === 'Arn' || attribute === 'TopicArn') return this.arn(id);
    if (['Name', 'QueueName', 'TopicName'].includes(attribute)) return this.name(id);
    if (attribute === 'QueueUrl') return this.ref(id);
    throw new Error(`no rule for Fn::GetAtt ${id}.${attribute}`);
  }

  /** A CloudFormation value with its intrinsic functions evaluated. */
  resolve(value: Json): string {
    const v = this.resolveAny(value);
    if (typeof v !== 'string') throw new Error(`expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  resolveAny(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolveAny(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = value[k] as Json;
      if (k === 'Ref') return this.ref(arg as string);
      if (k === 'Fn::GetAtt') {
        const [id, attribute] = arg as [string, string];
        return this.getAtt(id, attribute);
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, Json[]];
        return parts.map((p) => this.resolve(p)).join(sep);
      }
      if (k === 'Fn::Split') {
        const [sep, s] = arg as [string, Json];
        return this.resolve(s).split(sep);
      }
      if (k === 'Fn::Select') {
        const [i, list] = arg as [number, Json];
        const items = this.resolveAny(list) as Json[];
        return items[Number(i)] as Json;
      }
      if (k === 'Fn::Sub') {
        const template = typeof arg === 'string' ? arg : String((arg as Json[])[0]);
        return template.replace(/\$\{([^}]+)\}/g, (_m, expr: string) => {
          const [id, attribute] = expr.split('.') as [string, string | undefined];
          return attribute ? this.getAtt(id, attribute) : this.ref(id);
        });
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolveAny(v)]));
  }

  ofType(type: string): string[] {
    return Object.keys(this.resources).filter((id) => this.resources[id]?.Type === type);
  }

  /** The logical id a `{Ref}` or `{Fn::GetAtt}` points at. */
  static target(value: Json | undefined): string | undefined {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      if (typeof value.Ref === 'string') return value.Ref;
      const att = value['Fn::GetAtt'];
      if (Array.isArray(att)) return str(att[0]);
    }
    return undefined;
  }

  /** Every policy attached to the role: inline, AWS::IAM::Policy resources and AWS managed ones. */
  identityPolicies(roleId: string): Array<{ name: string; policy: PolicyDocument }> {
    const role = this.resource(roleId).Properties ?? {};
    const out: Array<{ name: string; policy: PolicyDocument }> = [];
    for (const p of (role.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: Json }>) {
      out.push({ name: p.PolicyName, policy: this.resolveAny(p.PolicyDocument) as PolicyDocument });
    }
    for (const id of this.ofType('AWS::IAM::Policy')) {
      const p = this.resource(id).Properties ?? {};
      const roles = ((p.Roles ?? []) as Json[]).map((r) => ResolvedTemplate.target(r));
      if (roles.includes(roleId)) {
        out.push({ name: id, policy: this.resolveAny(p.PolicyDocument as Json) as PolicyDocument });
      }
    }
    for (const arn of (role.ManagedPolicyArns ?? []) as Json[]) {
      const name = this.resolve(arn).split('/').pop() ?? '';
      const policy = MANAGED[name];
      if (!policy) throw new Error(`managed policy ${name} is not known to the test`);
      out.push({ name, policy });
    }
    return out;
  }

  trustPolicy(roleId: string): PolicyDocument {
    return this.resolveAny(
      this.resource(roleId).Properties?.AssumeRolePolicyDocument as Json,
    ) as PolicyDocument;
  }

  /** The policy of a bucket, queue or topic (their policy resources), or a key's key policy. */
  resourcePolicy(id: string): PolicyDocument | undefined {
    const r = this.resource(id);
    if (r.Type === 'AWS::KMS::Key') return this.resolveAny(r.Properties?.KeyPolicy as Json) as PolicyDocument;
    const holders: Record<string, [string, string]> = {
      'AWS::S3::Bucket': ['AWS::S3::BucketPolicy', 'Bucket'],
      'AWS::SQS::Queue': ['AWS::SQS::QueuePolicy', 'Queues'],
      'AWS::SNS::Topic': ['AWS::SNS::TopicPolicy', 'Topics'],
    };
    const holder = holders[r.Type];
    if (!holder) throw new Error(`no resource policy rule for ${r.Type}`);
    const [type, field] = holder;
    const statements: PolicyDocument['Statement'] = [];
    for (const pid of this.ofType(type)) {
      const p = this.resource(pid).Properties ?? {};
      const targets = ([] as Json[]).concat(p[field] as Json).map((t) => ResolvedTemplate.target(t));
      if (targets.includes(id)) {
        statements.push(...(this.resolveAny(p.PolicyDocument as Json) as PolicyDocument).Statement);
      }
    }
    return statements.length > 0 ? { Version: '2012-10-17', Statement: statements } : undefined;
  }
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Call {
  /** A role session, an account root or a service principal (`cloudwatch.amazonaws.com`). */
  principal: string;
  action: string;
  resource: string;
  /** Account that owns the resource (default: the stack's). */
  resourceAccount?: string;
  identityPolicies?: Array<{ name: string; policy: PolicyDocument }>;
  resourcePolicy?: PolicyDocument | undefined;
  context?: Record<string, string | string[]>;
}

/** Evaluates one request; throws on a simulation that could not run (bad policy, unknown action). */
export async function decide(call: Call): Promise<{ decision: Decision; ignoredContextKeys: string[] }> {
  const result = await runSimulation(
    {
      request: {
        principal: call.principal,
        action: call.action,
        resource: { resource: call.resource, accountId: call.resourceAccount ?? ACCOUNT },
        contextVariables: call.context ?? {},
      },
      identityPolicies: call.identityPolicies ?? [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(call.resourcePolicy ? { resourcePolicy: call.resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${call.action} failed: ${JSON.stringify(result.errors)}`);
  }
  if (result.resultType !== 'single') throw new Error(`unexpected ${result.resultType} result`);
  return {
    decision: result.overallResult as Decision,
    ignoredContextKeys: result.result.ignoredContextKeys ?? [],
  };
}

/** A role's session ARN, as the principal of the calls made with its credentials. */
export function session(t: ResolvedTemplate, roleId: string): string {
  return `arn:aws:sts::${ACCOUNT}:assumed-role/${t.name(roleId)}/session`;
}
