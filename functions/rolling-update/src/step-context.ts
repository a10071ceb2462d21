// What a rolling-update step works with: the function's deps, the configuration, the cluster as read
// for this step, and whether it may act (see would-act.ts).
import type { OperatorConfig } from '@pgfn/api';
import type { Logger } from '@pgfn/fn-runtime';
import type { LiveCluster } from './cluster.js';
import type { ConditionUpdate } from './conditions.js';
import type { RollingDeps } from './deps.js';

export interface StepContext {
  readonly deps: RollingDeps;
  readonly config: OperatorConfig;
  readonly live: LiveCluster;
  readonly log: Logger;
  /** False on the first look, taken without the Lease: any step with an effect stops it (WouldAct). */
  readonly act: boolean;
}

/** A step that keeps a condition of its own: Events and Warnings only when that condition changes. */
export interface ConditionStepContext extends StepContext {
  /** The condition as it is on the cluster now. */
  readonly before: ConditionUpdate;
}
