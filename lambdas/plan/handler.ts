import { createPlanHandler } from '../core/handlers.ts';
import { lambdaRuntime } from '../shared/runtime.ts';

export const handler = createPlanHandler(lambdaRuntime);
