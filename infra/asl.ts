/**
 * The state machines' definitions as data (Amazon States Language), with no CDK: what a local run
 * needs to execute them. `pipeline-definitions.ts` builds them from the construct the stack deploys;
 * those for cdk.json's settings are kept in `definitions.generated.json` (`npm run definitions`), so a
 * local run with those settings loads no CDK at all. A test holds the file equal to what the
 * construct builds.
 */
import { readFileSync } from 'node:fs';
import type { LakeSettings } from './config.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The two state machines' definitions (ASL), CloudFormation tokens replaced by fixed fake values. */
export interface Definitions {
  /** The pipeline: plan, the groups' distributed Map, the run summary. */
  pipeline: Record<string, unknown>;
  /** Where a window continues when it outgrows its group's execution. */
  window: Record<string, unknown>;
}

/** The settings the definitions depend on (accounts, prefix and schedules are not in them). */
export type DefinitionSettings = Pick<
  LakeSettings,
  'stackName' | 'mapConcurrency' | 'windowConcurrency' | 'categories'
>;

export function definitionSettings(settings: LakeSettings): DefinitionSettings {
  const { stackName, mapConcurrency, windowConcurrency, categories } = settings;
  return { stackName, mapConcurrency, windowConcurrency, categories: [...categories] };
}

export const GENERATED_DEFINITIONS_FILE = new URL('./definitions.generated.json', import.meta.url);

export interface GeneratedDefinitions {
  /** How the file was made. */
  generatedBy: string;
  settings: DefinitionSettings;
  definitions: Definitions;
}

/** The definitions kept in `definitions.generated.json`, when they were built for these settings. */
export function generatedDefinitionsFor(settings: DefinitionSettings): Definitions | undefined {
  const file = JSON.parse(readFileSync(GENERATED_DEFINITIONS_FILE, 'utf8')) as GeneratedDefinitions;
  return JSON.stringify(file.settings) === JSON.stringify(settings) ? file.definitions : undefined;
}

type StateJson = Record<string, unknown>;

/** Every Task state, by name, in nested Maps and Parallel branches too. */
function taskStates(definition: Record<string, unknown>): Map<string, StateJson> {
  const tasks = new Map<string, StateJson>();
  const walk = (states: Record<string, StateJson>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') tasks.set(name, state);
      const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, StateJson> };
      if (processor?.States) walk(processor.States);
      for (const branch of (state.Branches ?? []) as Array<{ States: Record<string, StateJson> }>) {
        walk(branch.States);
      }
    }
  };
  walk(definition.States as Record<string, StateJson>);
  return tasks;
}

/** Every Task state's name: the local runner must bind each one. */
export function taskStateNames(definition: Record<string, unknown>): string[] {
  return [...taskStates(definition).keys()];
}

/** Every Task state's `TimeoutSeconds`, by name. */
export function taskTimeouts(definition: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, state] of taskStates(definition)) {
    if (typeof state.TimeoutSeconds === 'number') out[name] = state.TimeoutSeconds;
  }
  return out;
}
