import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { GENERATED_DEFINITIONS_FILE } from '../../infra/asl.ts';
import { parseSettings } from '../../infra/config.ts';
import { definitionsFromTemplate, synthesizeStack } from '../../infra/definition.ts';
import { buildDefinitions } from '../../infra/pipeline-definitions.ts';
import { generatedDefinitions } from '../../infra/write-definitions.ts';

describe('Function: buildDefinitions (what a local run executes)', () => {
  it.each([
    ['the default settings', {}],
    [
      'another stack, concurrency, categories and accounts',
      {
        stackName: 'LakeTwo',
        mapConcurrency: 3,
        windowConcurrency: 5,
        categories: ['hourly_usage', 'cost_attribution'],
        accounts: [
          { name: 'main', secretName: 'dd/main', site: 'datadoghq.com' },
          { name: 'eu', secretName: 'dd/eu', site: 'datadoghq.eu' },
        ],
      },
    ],
  ])('is, for %s, exactly what the synthesized stack deploys, both state machines', (_label, raw) => {
    // Prepare
    const settings = parseSettings(raw);

    // Act
    const built = buildDefinitions(settings);
    const deployed = definitionsFromTemplate(synthesizeStack(settings).template);

    // Assess
    expect(built).toEqual(deployed);
  });
});

describe('File: infra/definitions.generated.json (what npm start executes)', () => {
  it('holds what the construct builds for cdk.json’s settings; if not, run `npm run definitions`', () => {
    // Act
    const kept = JSON.parse(readFileSync(GENERATED_DEFINITIONS_FILE, 'utf8'));

    // Assess
    expect(kept).toEqual(generatedDefinitions());
  });

  it('holds definitions aws-local-stepfunctions accepts with every check on (local runs skip them)', () => {
    // Prepare
    const { definitions } = generatedDefinitions();

    // Act
    const load = (asl: Record<string, unknown>) =>
      new StateMachine(asl as never, { validationOptions: { checkArn: true, checkPaths: true } });

    // Assess
    expect(() => load(definitions.pipeline)).not.toThrow();
    expect(() => load(definitions.window)).not.toThrow();
  });
});
