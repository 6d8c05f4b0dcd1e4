import { createFetchHandler } from '../core/handlers.ts';
import { lambdaRuntime } from '../shared/runtime.ts';

export const handler = createFetchHandler('hourly_usage', lambdaRuntime);
