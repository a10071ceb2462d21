import type { Express } from 'express';
import { createCloudEventApp, type FunctionMetrics, type Logger } from '@pgfn/fn-runtime';
import { createHandler, type HandlerDeps } from './handler.js';

export interface AppDeps extends HandlerDeps {
  readonly log: Logger;
  readonly metrics: FunctionMetrics;
}

/** The team-role-sync function's HTTP app, without listening: tests drive it directly. */
export function createApp(deps: AppDeps): Express {
  return createCloudEventApp({ fn: 'team-role-sync', handle: createHandler(deps), log: deps.log, metrics: deps.metrics });
}
