import { createFetchHandler } from '../core/handlers.ts';
import { lambdaRuntime } from '../shared/runtime.ts';

export const handler = createFetchHandler('historical_cost', lambdaRuntime);
