/**
 * `npm run definitions`: writes `infra/definitions.generated.json`, the two state machines'
 * definitions the construct builds for cdk.json's settings, which local runs with those settings
 * execute without loading CDK. Run it after changing the state machine or cdk.json; a test fails
 * until the file matches.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { definitionSettings, GENERATED_DEFINITIONS_FILE, type GeneratedDefinitions } from './asl.ts';
import { loadCdkJsonSettings } from './config.ts';
import { buildDefinitions } from './pipeline-definitions.ts';

/** The file's content for cdk.json's settings as they are now. */
export function generatedDefinitions(): GeneratedDefinitions {
  const settings = definitionSettings(loadCdkJsonSettings());
  return { generatedBy: 'npm run definitions', settings, definitions: buildDefinitions(settings) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENERATED_DEFINITIONS_FILE, `${JSON.stringify(generatedDefinitions(), null, 2)}\n`);
  process.stdout.write(`wrote ${fileURLToPath(GENERATED_DEFINITIONS_FILE)}\n`);
}
