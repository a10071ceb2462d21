// Number of Postgres pods (upstream getNumberOfInstances and isStandbyCluster, pkg/cluster/).
import type { OperatorConfig, Postgresql } from '@pgfn/api';

const STANDBY_ENV = /^STANDBY_WALE_(S3|GS|GSC|SWIFT)_PREFIX$/;

/** A standby cluster follows another cluster: spec.standby, or a STANDBY_WALE_*_PREFIX in spec.env. */
export function isStandbyCluster(cluster: Pick<Postgresql, 'spec'>): boolean {
  if (cluster.spec.standby !== undefined) return true;
  return (cluster.spec.env ?? []).some((e) => STANDBY_ENV.test(e.name) && !!e.value);
}

/**
 * spec.numberOfInstances clamped to config min_instances/max_instances (-1 = no bound), unless the
 * CR carries ignore_instance_limits_annotation_key = "true". A standby cluster of one pod is never changed.
 */
export function numberOfInstances(
  cluster: Pick<Postgresql, 'metadata' | 'spec'>,
  config: Pick<OperatorConfig, 'minInstances' | 'maxInstances' | 'ignoreInstanceLimitsAnnotationKey'>,
): number {
  const requested = cluster.spec.numberOfInstances;
  const key = config.ignoreInstanceLimitsAnnotationKey;
  if (key !== '' && cluster.metadata.annotations?.[key] === 'true') return requested;
  let min = config.minInstances;
  let max = config.maxInstances;
  if (isStandbyCluster(cluster) && requested === 1) {
    min = 1;
    max = 1;
  }
  let result = requested;
  if (max >= 0 && result > max) result = max;
  if (min >= 0 && result < min) result = min;
  return result;
}
