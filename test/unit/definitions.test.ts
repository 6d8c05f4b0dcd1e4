import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../infra/config.ts';
import { definitionsFromTemplate, synthesizeStack } from '../../infra/definition.ts';
import { buildDefinitions } from '../../infra/pipeline-definitions.ts';

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
