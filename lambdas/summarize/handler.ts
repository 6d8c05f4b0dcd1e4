import { createSummarizeHandler } from '../core/handlers.ts';
import { lambdaRuntime, withPowertools } from '../shared/runtime.ts';

export const handler = withPowertools(createSummarizeHandler(lambdaRuntime));
