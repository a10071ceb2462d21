// The restore test's scratch instance (pure): a Job whose pod is the cluster's own Spilo pod template
// (image, resources, the environment users configured) turned into a clone of the cluster's archive
// to a point in time — Spilo's CLONE_WITH_WALE bootstrap, the path upstream documents for
// point-in-time recovery — under a scope of its own, archiving nowhere, on an emptyDir.
import type { V1EnvVar, V1Job, V1StatefulSet } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { cloneEnv } from '@pgfn/builder';

/** Marks the Job and its pod, so a later run finds what an earlier one left behind. */
export const RESTORE_TEST_LABEL = 'pgfn.dev/restore-test-of';

export function scratchName(cluster: string): string {
  return `${cluster}-restore-test`;
}

/** The cluster's own archive settings: the scratch instance must never write into them. */
const ARCHIVE_ENV =
  /^(WAL_S3_BUCKET|WAL_GS_BUCKET|WAL_GCS_BUCKET|WAL_BUCKET_SCOPE_PREFIX|WAL_BUCKET_SCOPE_SUFFIX|WALE_.*|WALG_.*|BACKUP_SCHEDULE)$/;

export function restoreJob(o: {
  cluster: Postgresql;
  statefulSet: V1StatefulSet;
  config: OperatorConfig;
  /** RFC 3339 with a zone: recovery stops there. */
  targetTime: string;
  deadlineSeconds: number;
}): V1Job {
  const name = o.cluster.metadata?.name ?? '';
  const namespace = o.cluster.metadata?.namespace ?? '';
  const scratch = scratchName(name);
  const template = structuredClone(o.statefulSet.spec?.template ?? {});
  const spec = template.spec ?? { containers: [] };
  const labels = { ...(template.metadata?.labels ?? {}), [o.config.clusterNameLabel]: scratch, [RESTORE_TEST_LABEL]: name };
  const clone = cloneEnv({ cluster: name, uid: o.cluster.metadata?.uid ?? '', timestamp: o.targetTime }, o.config);
  const cloneNames = new Set(clone.map((e) => e.name));
  const containers = spec.containers.map((c, i) => {
    if (i !== 0) return c;
    const kept: V1EnvVar[] = (c.env ?? []).filter((e) => !ARCHIVE_ENV.test(e.name) && !cloneNames.has(e.name) && e.name !== 'SCOPE');
    return { ...c, env: [...kept, { name: 'SCOPE', value: scratch }, ...clone] };
  });
  const dataVolumes = new Set((o.statefulSet.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata?.name ?? ''));
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: scratch, namespace, labels: { [o.config.clusterNameLabel]: scratch, [RESTORE_TEST_LABEL]: name } },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: o.deadlineSeconds,
      template: {
        metadata: { labels, annotations: template.metadata?.annotations ?? {} },
        spec: {
          ...spec,
          containers: containers.slice(0, 1),
          restartPolicy: 'Never',
          volumes: [...(spec.volumes ?? []), ...[...dataVolumes].map((v) => ({ name: v, emptyDir: {} }))],
        },
      },
    },
  };
}
