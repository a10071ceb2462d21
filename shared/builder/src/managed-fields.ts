// Reads server-side-apply ownership from metadata.managedFields, so a comparison can tell which
// labels or annotations a field manager set earlier and has since dropped from its desired object.
import type { V1ManagedFieldsEntry, V1ObjectMeta } from '@kubernetes/client-node';

/** The fieldsV1 trees of `manager`'s Apply entries. */
function appliedTrees(metadata: V1ObjectMeta | undefined, manager: string): Record<string, unknown>[] {
  const entries: V1ManagedFieldsEntry[] = metadata?.managedFields ?? [];
  return entries
    .filter((e) => e.manager === manager && e.operation === 'Apply' && typeof e.fieldsV1 === 'object' && e.fieldsV1 !== null)
    .map((e) => e.fieldsV1 as Record<string, unknown>);
}

/**
 * Map keys `manager` owns at `path` (field names without the `f:` prefix, e.g.
 * ['metadata', 'annotations'] or ['spec', 'template', 'metadata', 'labels']).
 */
export function ownedMapKeys(metadata: V1ObjectMeta | undefined, manager: string, path: readonly string[]): Set<string> {
  const keys = new Set<string>();
  for (const tree of appliedTrees(metadata, manager)) {
    let node: unknown = tree;
    for (const field of path)
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[`f:${field}`] : undefined;
    if (typeof node !== 'object' || node === null) continue;
    for (const key of Object.keys(node)) if (key.startsWith('f:')) keys.add(key.slice(2));
  }
  return keys;
}
