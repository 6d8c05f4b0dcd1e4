import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Definitions, Json } from './asl.ts';
import { type LakeSettings, parseSettings } from './config.ts';
import { DatadogUsageStack } from './datadog-usage-stack.ts';
import { parseDefinition } from './pipeline-definitions.ts';

export type { Definitions } from './asl.ts';

/** The stack as `cdk synth` builds it, with bundling skipped (the definition does not depend on it). */
export function synthesizeStack(settings: LakeSettings = parseSettings(undefined)): {
  stack: DatadogUsageStack;
  template: Template;
} {
  mkdirSync(os.tmpdir(), { recursive: true });
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'cdk-out-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new DatadogUsageStack(app, settings.stackName, { settings });
    return { stack, template: Template.fromStack(stack) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function definitionsFromTemplate(template: Template | Record<string, unknown>): Definitions {
  const t = template instanceof Template ? template : Template.fromJSON(template);
  type Machine = { Properties: { StateMachineName?: unknown; DefinitionString: Json } };
  const machines = Object.values(t.findResources('AWS::StepFunctions::StateMachine')) as Machine[];
  if (machines.length !== 2) throw new Error(`expected two state machines, found ${machines.length}`);
  const isWindow = (m: Machine) => String(m.Properties.StateMachineName ?? '').endsWith('-window');
  const parse = (m: Machine | undefined) => {
    if (!m) throw new Error('a state machine is missing');
    return parseDefinition(m.Properties.DefinitionString);
  };
  return { pipeline: parse(machines.find((m) => !isWindow(m))), window: parse(machines.find(isWindow)) };
}

/** The deployed pipeline definition (ASL) with CloudFormation tokens replaced by fixed fake values. */
export function definitionFromTemplate(
  template: Template | Record<string, unknown>,
): Record<string, unknown> {
  return definitionsFromTemplate(template).pipeline;
}

export { taskStateNames, taskTimeouts } from './asl.ts';
