import { createFetchHandler } from '../core/handlers.ts';
import { lambdaRuntime, withPowertools } from '../shared/runtime.ts';

export const handler = withPowertools(createFetchHandler('historical_cost', lambdaRuntime));
