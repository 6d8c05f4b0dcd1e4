import { App } from 'aws-cdk-lib';
import { addNagChecks } from './checks.ts';
import { CONTEXT_KEY, parseSettings } from './config.ts';
import { DatadogUsageStack } from './datadog-usage-stack.ts';

const app = new App();
const settings = parseSettings(app.node.tryGetContext(CONTEXT_KEY));
new DatadogUsageStack(app, settings.stackName, { settings });
addNagChecks(app);
app.synth();
