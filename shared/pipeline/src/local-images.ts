// Container images a user's Knative Service may name that have a local equivalent the function
// supervisor can start (Knative Serving does not run here, so no image runs as such). Each equivalent
// listens on $PORT and answers /readyz, as the supervisor expects of a function.
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import type { FunctionProcessSpec } from './supervisor.js';

/** Knative's event_display (knative/examples/cluster-ready-notifier.yaml), any tag or digest. */
const EVENT_DISPLAY = 'gcr.io/knative-releases/knative.dev/eventing/cmd/event_display';

/** How to run `image` here, or undefined when there is no local equivalent. */
export function localProcessFor(image: string): FunctionProcessSpec | undefined {
  const repository = image.split('@')[0]?.replace(/:[^/:]+$/, '');
  if (repository === EVENT_DISPLAY) return { args: ['--import', 'tsx', join(repoRoot, 'hack/event-display.ts')], cwd: repoRoot };
  return undefined;
}
