// Shared pieces of the rolling-update tests that take real base backups (upgrade-backup.test.ts,
// rollout-backup.test.ts): the cluster's base backups as listed in the real S3 server, whichever
// major's prefix they went to, and one rolling-update step run as the function's own ServiceAccount
// with exec into pods, its CloudEvents kept for the test.
import { detectLayouts, openArchive, s3ObjectStore, type BaseBackup } from '@pgfn/backup-store';
import type { OperatorConfig } from '@pgfn/api';
import type { S3Server } from '@pgfn/controlplane';
import { createLogger, eventRecorder } from '@pgfn/fn-runtime';
import { KubeClient, podExec } from '@pgfn/kube';
import type { SpiloCluster } from '@pgfn/node-agent/testing';
import { PatroniClient } from '@pgfn/patroni';
import { advance } from '../../functions/rolling-update/src/index.js';
import { walPrefix, WAL_BUCKET } from '../backups/support.js';
import { kubeconfigForFunction } from '../support/fn-identity.js';

/** Every completed base backup of the cluster under the given majors' prefixes. */
export async function clusterBackups(s3: S3Server, cluster: SpiloCluster, majors: readonly string[] = ['15']): Promise<BaseBackup[]> {
  const store = s3ObjectStore(s3.client(), WAL_BUCKET);
  const out: BaseBackup[] = [];
  for (const major of majors) {
    const prefix = walPrefix(cluster, major);
    if ((await detectLayouts(store, prefix)).length > 0) out.push(...(await (await openArchive({ store, prefix })).backups()));
  }
  return out;
}

export interface EmittedEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/** One rolling-update invocation for the cluster (advance), as its own ServiceAccount; CloudEvents go to `emitted`. */
export async function rollingStep(o: {
  readonly cluster: { readonly namespace: string; readonly name: string };
  readonly config: OperatorConfig;
  readonly emitted: EmittedEvent[];
  readonly holder: string;
}): Promise<string> {
  const fnKc = await kubeconfigForFunction('rolling-update');
  const kube = new KubeClient(fnKc);
  const now = (): Date => new Date();
  return advance(
    {
      kube,
      patroni: new PatroniClient(),
      exec: podExec(fnKc),
      loadConfig: () => Promise.resolve({ config: o.config, problems: [] }),
      recordEvent: eventRecorder({ kube, component: 'pgfn-rolling-update', now }),
      emit: (type, _subject, data) => {
        o.emitted.push({ type, data });
        return Promise.resolve();
      },
      now,
      holder: o.holder,
      podTimeoutMs: 300_000,
    },
    { namespace: o.cluster.namespace, name: o.cluster.name },
    { log: createLogger(o.holder) },
  );
}
