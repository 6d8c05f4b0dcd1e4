import { DEFAULT_STACK_NAME } from './config.ts';

/**
 * Every explicit physical name of a stack, derived from its stack name (unique per account and
 * region), so a second copy deploys beside the first. The default stack keeps the names it always
 * had for Glue and Athena; any other stack adds its own name to them.
 */
export interface PhysicalNames {
  /** Glue database: lower case, digits and underscores. */
  database: string;
  workGroup: string;
  dashboard: string;
  stateMachine: string;
  /** Under /aws/vendedlogs/, as AWS recommends for vended logs (resource-policy size limit). */
  stateMachineLogGroup: string;
  /** Where a window continues when it outgrows its group's execution. */
  windowStateMachine: string;
  windowStateMachineLogGroup: string;
  /** Every alarm's name starts with this; the topic and key policies allow exactly these alarms. */
  alarmPrefix: string;
  /** The metrics' `service` dimension: each copy's metrics and alarms stay its own. */
  metricsService: string;
}

export function physicalNames(stackName: string): PhysicalNames {
  const own = stackName !== DEFAULT_STACK_NAME;
  return {
    database: own ? `datadog_usage_${stackName.toLowerCase().replace(/-/g, '_')}` : 'datadog_usage',
    workGroup: own ? `datadog-usage-${stackName}` : 'datadog-usage',
    dashboard: stackName,
    stateMachine: `${stackName}-pipeline`,
    stateMachineLogGroup: `/aws/vendedlogs/states/${stackName}-pipeline`,
    windowStateMachine: `${stackName}-window`,
    windowStateMachineLogGroup: `/aws/vendedlogs/states/${stackName}-window`,
    alarmPrefix: `${stackName}-`,
    metricsService: stackName,
  };
}
