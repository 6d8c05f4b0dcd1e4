import { createPlanHandler } from '../core/handlers.ts';
import { lambdaRuntime, withPowertools } from '../shared/runtime.ts';

export const handler = withPowertools(createPlanHandler(lambdaRuntime));
