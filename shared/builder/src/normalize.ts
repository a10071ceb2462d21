// A manifest as the API server hands it out. The API server drops spec fields set to null (`key:`
// with no value in YAML) unless the schema marks them nullable, so a manifest read from a file may
// hold nulls a stored object never does; builders treat both alike by removing them first.
import type { Postgresql } from '@pgfn/api';

/** The cluster without null-valued spec fields; the same object when it has none. */
export function normalizeCluster(cluster: Postgresql): Postgresql {
  const spec = cluster.spec as unknown as Record<string, unknown> | null | undefined;
  if (spec === null || spec === undefined || typeof spec !== 'object') return cluster;
  if (!Object.values(spec).some((v) => v === null)) return cluster;
  const cleaned = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== null));
  return { ...cluster, spec: cleaned as unknown as Postgresql['spec'] };
}
