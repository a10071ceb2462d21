import {
  APPLICATION_LABEL,
  POD_TEMPLATE_HASH_ANNOTATION,
  POOLER_APPLICATION,
  buildCluster,
  podRotationReasons,
  objectKey,
  prunableObjectRefs,
  clusterLabels,
  clusterName,
  clusterNameLabelKey,
  compareLive,
  compareStatefulSet,
  validateCluster,
} from '@pgfn/builder';
import type { BuilderPort } from './reconcile.js';

/** The real resource builder behind reconcile's port. */
export const realBuilder: BuilderPort = {
  validate: (cluster, config) => validateCluster(cluster, config),
  build: (req) => {
    const built = buildCluster(req);
    return {
      objects: built.objects,
      podRotationReasons: podRotationReasons(built.passwordChanges, 'postgres'),
      poolerPodRotationReasons: podRotationReasons(built.passwordChanges, 'pooler'),
    };
  },
  compareStatefulSet,
  compareLive: (live, desired, ignoredAnnotations = []) => compareLive(live, desired, { ignoredAnnotations }),
  // Objects: the cluster-name label alone, since pooler objects carry another `application`.
  objectSelector: (cluster, config) => `${clusterNameLabelKey(config)}=${clusterName(cluster)}`,
  clusterLabel: (cluster, config) => [clusterNameLabelKey(config), clusterName(cluster)],
  podSelector: (cluster, config) =>
    Object.entries(clusterLabels(cluster, config))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  poolerPodSelector: (cluster, config) =>
    Object.entries({ ...clusterLabels(cluster, config), [APPLICATION_LABEL]: POOLER_APPLICATION })
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  prunableKeys: (cluster, config) => new Set(prunableObjectRefs(cluster, config).map(objectKey)),
  podTemplateHash: (obj) => obj?.metadata?.annotations?.[POD_TEMPLATE_HASH_ANNOTATION],
};
