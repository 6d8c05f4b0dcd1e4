import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type LakeSettings, parseSettings } from './config.ts';
import { DatadogUsageStack } from './datadog-usage-stack.ts';

export const FAKE_REGION = 'us-east-1';
export const FAKE_ACCOUNT = '123456789012';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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

function resolveToken(part: Json): string {
  if (typeof part === 'string') return part;
  if (part && typeof part === 'object' && !Array.isArray(part)) {
    if ('Ref' in part) {
      const ref = part.Ref;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return FAKE_REGION;
      if (ref === 'AWS::AccountId') return FAKE_ACCOUNT;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    }
    const getAtt = part['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
      return `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:${String(getAtt[0])}`;
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(part)} in the state machine definition`);
}

/** The deployed definition (ASL) with CloudFormation tokens replaced by fixed fake values. */
export function definitionFromTemplate(
  template: Template | Record<string, unknown>,
): Record<string, unknown> {
  if (!(template instanceof Template)) return definitionFromTemplate(Template.fromJSON(template));
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines);
  if (!machine || Object.keys(machines).length !== 1) throw new Error('expected exactly one state machine');
  const body = machine.Properties.DefinitionString as Json;
  if (typeof body === 'string') return JSON.parse(body);
  const join = (body as { 'Fn::Join': [string, Json[]] })['Fn::Join'];
  return JSON.parse(join[1].map(resolveToken).join(join[0]));
}

/** Every Task state's name, in nested Maps too: the local runner must bind each one. */
export function taskStateNames(definition: Record<string, unknown>): string[] {
  const names: string[] = [];
  const walk = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') names.push(name);
      const processor = (state.ItemProcessor ?? state.Iterator) as {
        States?: Record<string, Record<string, unknown>>;
      };
      if (processor?.States) walk(processor.States);
      for (const branch of (state.Branches ?? []) as Array<{
        States: Record<string, Record<string, unknown>>;
      }>) {
        walk(branch.States);
      }
    }
  };
  walk(definition.States as Record<string, Record<string, unknown>>);
  return names;
}

/** Every Task state's `TimeoutSeconds`, by name (nested Maps too). */
export function taskTimeouts(definition: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task' && typeof state.TimeoutSeconds === 'number') out[name] = state.TimeoutSeconds;
      const processor = (state.ItemProcessor ?? state.Iterator) as {
        States?: Record<string, Record<string, unknown>>;
      };
      if (processor?.States) walk(processor.States);
    }
  };
  walk(definition.States as Record<string, Record<string, unknown>>);
  return out;
}
