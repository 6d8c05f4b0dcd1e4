/**
 * The two state machines' definitions, built by the same construct the stack deploys, without the
 * rest of the stack: what a local run executes. The functions stand at the construct paths the stack
 * gives them, so every reference in the definitions is the deployed one; a test holds the two equal.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Code, type IFunction, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { CfnStateMachine, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CategoryName } from '../lambdas/categories.ts';
import type { DefinitionSettings, Definitions, Json } from './asl.ts';
import {
  FUNCTION_TIMEOUTS,
  PipelineStateMachine,
  type PipelineStateMachineProps,
} from './constructs/pipeline-state-machine.ts';
import { physicalNames } from './names.ts';

export const FAKE_REGION = 'us-east-1';
export const FAKE_ACCOUNT = '123456789012';

/** The ids the stack gives its functions' constructs (each holds its function as `Function`). */
export const FUNCTION_IDS = {
  fetch: (category: CategoryName) => `Fetch-${category}`,
  plan: 'Plan',
  summarize: 'Summarize',
} as const;

/** The state machine's props for a deployment's settings and functions: one place for the stack and local runs. */
export function pipelineProps(
  settings: DefinitionSettings,
  functions: Pick<PipelineStateMachineProps, 'planFunction' | 'summarizeFunction' | 'fetchFunctions'> &
    Partial<Pick<PipelineStateMachineProps, 'logRetention'>>,
): PipelineStateMachineProps {
  const names = physicalNames(settings.stackName);
  return {
    ...functions,
    mapConcurrency: settings.mapConcurrency,
    windowConcurrency: settings.windowConcurrency,
    stateMachineName: names.stateMachine,
    logGroupName: names.stateMachineLogGroup,
    windowStateMachineName: names.windowStateMachine,
    windowLogGroupName: names.windowStateMachineLogGroup,
  };
}

function resolveToken(part: Json): string {
  if (typeof part === 'string') return part;
  if (part && typeof part === 'object' && !Array.isArray(part)) {
    if ('Ref' in part) {
      const ref = part.Ref;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return FAKE_REGION;
      if (ref === 'AWS::AccountId') return FAKE_ACCOUNT;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      if (typeof ref === 'string') return `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:${ref}`;
    }
    const getAtt = part['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
      return `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:${String(getAtt[0])}`;
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(part)} in the state machine definition`);
}

/** A rendered `DefinitionString` (a string, or an `Fn::Join` of tokens) as ASL, tokens replaced. */
export function parseDefinition(body: Json): Record<string, unknown> {
  if (typeof body === 'string') return JSON.parse(body) as Record<string, unknown>;
  const join = (body as { 'Fn::Join': [string, Json[]] })['Fn::Join'];
  return JSON.parse(join[1].map(resolveToken).join(join[0])) as Record<string, unknown>;
}

/** The definitions the stack deploys for these settings, built from the state-machine construct alone. */
export function buildDefinitions(settings: DefinitionSettings): Definitions {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), settings.stackName);
  const stub = (id: string, timeout: LambdaFunction['timeout']): IFunction =>
    new LambdaFunction(new Construct(stack, id), 'Function', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => {};'),
      timeout,
    });
  const fetchFunctions: Partial<Record<CategoryName, IFunction>> = {};
  for (const category of settings.categories) {
    fetchFunctions[category] = stub(FUNCTION_IDS.fetch(category), FUNCTION_TIMEOUTS.fetch);
  }
  const pipeline = new PipelineStateMachine(
    stack,
    'Pipeline',
    pipelineProps(settings, {
      planFunction: stub(FUNCTION_IDS.plan, FUNCTION_TIMEOUTS.plan),
      summarizeFunction: stub(FUNCTION_IDS.summarize, FUNCTION_TIMEOUTS.summarize),
      fetchFunctions,
    }),
  );
  const render = (sm: StateMachine) =>
    parseDefinition(stack.resolve((sm.node.defaultChild as CfnStateMachine).definitionString) as Json);
  return { pipeline: render(pipeline.stateMachine), window: render(pipeline.windowStateMachine) };
}
