import { readFileSync } from 'node:fs';
import type { ControlPlaneState } from '@pgfn/controlplane';

/** The environment variable through which the global setup hands the control plane to every worker. */
export const STATE_ENV = 'PGFN_TEST_CONTROL_PLANE';

export interface TestEnv extends ControlPlaneState {
  readonly components: readonly string[];
}

let cached: TestEnv | undefined;

/** The shared control plane of this test run; fails loudly when the root hooks did not start one. */
export function testEnv(): TestEnv {
  if (cached !== undefined) return cached;
  const file = process.env[STATE_ENV];
  if (file === undefined) throw new Error(`${STATE_ENV} is unset: run tests through mocha with test/support/root-hooks.ts`);
  const state = JSON.parse(readFileSync(file, 'utf8')) as ControlPlaneState;
  cached = { ...state, components: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] };
  return cached;
}
