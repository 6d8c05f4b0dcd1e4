/**
 * The state machines' state names: the construct names its states with them, and the local runner,
 * the tests and the history bounds find states by them (this module loads no CDK).
 */
import type { CategoryName } from '../lambdas/categories.ts';

export const STATE = {
  plan: 'Plan',
  groups: 'For each group',
  indexes: 'Window indexes',
  windows: 'For each window',
  route: 'Route by category',
  fetch: (category: CategoryName) => `Fetch ${category}`,
  check: 'Window done?',
  pause: 'Wait for rate limit',
  resume: 'Resume window',
  continueWindow: 'Continue in a window execution',
  done: 'Window done',
  failed: 'Window failed',
  summarizeGroup: 'Summarize group',
  groupFailed: 'Record group failure',
  summarize: 'Summarize run',
} as const;
