// The Spilo StatefulSet of a cluster (upstream generateStatefulSet and
// generatePersistentVolumeClaimTemplate, pkg/cluster/k8sres.go).
import type { V1PersistentVolumeClaim, V1StatefulSet, V1StatefulSetPersistentVolumeClaimRetentionPolicy } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterNamespace } from './inputs.js';
import { numberOfInstances } from './instances.js';
import {
  clusterLabels,
  downscalerAnnotations,
  objectAnnotations,
  objectLabels,
  POD_TEMPLATE_CONTENT_HASH_ANNOTATION,
  POD_TEMPLATE_HASH_ANNOTATION,
} from './labels.js';
import { masterServiceName, statefulSetName } from './names.js';
import { ownerReferences } from './owner.js';
import { buildPodTemplate } from './pod-template.js';
import { podTemplateContentHash, storedPodTemplateHash } from './pod-template-hash.js';
import { DATA_VOLUME_NAME } from './pod-volumes.js';
import { isQuantity } from './quantity.js';
import type { PodEnvironmentInputs } from './spilo-env.js';

/** Objects read before building (the builder does no I/O). */
export type StatefulSetInputs = PodEnvironmentInputs;

export interface StatefulSetResult {
  readonly statefulSet: V1StatefulSet;
  /** Parts of the manifest that were ignored, in sentences for Events/logs. */
  readonly warnings: string[];
}

/** The desired StatefulSet; throws an Error naming the field when the manifest or config is unusable. */
export function buildStatefulSet(cluster: Postgresql, config: OperatorConfig, inputs: StatefulSetInputs = {}): V1StatefulSet {
  return buildStatefulSetResult(cluster, config, inputs).statefulSet;
}

export function buildStatefulSetResult(cluster: Postgresql, config: OperatorConfig, inputs: StatefulSetInputs = {}): StatefulSetResult {
  const { template, warnings } = buildPodTemplate(cluster, config, inputs);
  const annotations = {
    ...downscalerAnnotations(cluster, config),
    ...(objectAnnotations(cluster, config) ?? {}),
    [POD_TEMPLATE_HASH_ANNOTATION]: storedPodTemplateHash(template) ?? '',
    [POD_TEMPLATE_CONTENT_HASH_ANNOTATION]: podTemplateContentHash(template),
  };
  const statefulSet: V1StatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: statefulSetName(cluster),
      namespace: clusterNamespace(cluster),
      labels: objectLabels(cluster, config),
      annotations,
    },
    spec: {
      replicas: numberOfInstances(cluster, config),
      selector: { matchLabels: clusterLabels(cluster, config) },
      serviceName: masterServiceName(cluster),
      template,
      volumeClaimTemplates: [volumeClaimTemplate(cluster, config)],
      // Pods are replaced by our own rolling update (switchover first), never by the controller.
      updateStrategy: { type: 'OnDelete' },
      podManagementPolicy: podManagementPolicy(config.podManagementPolicy),
      persistentVolumeClaimRetentionPolicy: pvcRetentionPolicy(config.persistentVolumeClaimRetentionPolicy),
    },
  };
  const owners = ownerReferences(cluster, config);
  if (owners !== undefined) statefulSet.metadata!.ownerReferences = owners;
  return { statefulSet, warnings };
}

/** The `pgdata` claim every pod gets: spec.volume size, storage class and selector. */
export function volumeClaimTemplate(cluster: Postgresql, config: OperatorConfig): V1PersistentVolumeClaim {
  const volume = cluster.spec.volume;
  if (!isQuantity(volume.size)) {
    throw new Error(`spec.volume.size: "${volume.size}" is not a Kubernetes quantity (examples: 10Gi, 500Mi)`);
  }
  const claim: V1PersistentVolumeClaim = {
    metadata: { name: DATA_VOLUME_NAME, labels: objectLabels(cluster, config) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: volume.size.trim() } },
      volumeMode: 'Filesystem',
    },
  };
  const annotations = objectAnnotations(cluster, config);
  if (annotations !== undefined) claim.metadata!.annotations = annotations;
  if (volume.storageClass) claim.spec!.storageClassName = volume.storageClass;
  if (volume.selector !== undefined) claim.spec!.selector = structuredClone(volume.selector);
  return claim;
}

/** config pod_management_policy: "ordered_ready" or "parallel". */
export function podManagementPolicy(value: string): 'OrderedReady' | 'Parallel' {
  if (value === 'ordered_ready') return 'OrderedReady';
  if (value === 'parallel') return 'Parallel';
  throw new Error(`configuration pod_management_policy: "${value}" is not supported; use "ordered_ready" or "parallel"`);
}

/** config persistent_volume_claim_retention_policy: only the value "delete" deletes, anything else retains. */
export function pvcRetentionPolicy(policy: Readonly<Record<string, string>>): V1StatefulSetPersistentVolumeClaimRetentionPolicy {
  return {
    whenDeleted: policy['when_deleted'] === 'delete' ? 'Delete' : 'Retain',
    whenScaled: policy['when_scaled'] === 'delete' ? 'Delete' : 'Retain',
  };
}
