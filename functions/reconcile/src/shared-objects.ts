import type { KubernetesObject } from '@kubernetes/client-node';
import { refOf, type KubeClient } from '@pgfn/kube';
import { appliedHashOf } from './applied-hash.js';

/**
 * Objects no label list shows (the namespace's shared postgres-pod ServiceAccount and RoleBinding),
 * read and written at most once per batch however many of its clusters want them.
 */
export class SharedObjects {
  private readonly reads = new Map<string, Promise<KubernetesObject | undefined>>();
  private readonly writes = new Map<string, Promise<KubernetesObject>>();

  constructor(private readonly kube: KubeClient) {}

  /** The live versions of `desired` objects that exist. */
  async read(desired: readonly KubernetesObject[]): Promise<KubernetesObject[]> {
    const found = await Promise.all(
      desired.map((o) => {
        const key = keyOf(o);
        let read = this.reads.get(key);
        if (read === undefined) {
          // kube-kinds: v1/ServiceAccount rbac.authorization.k8s.io/v1/RoleBinding
          read = this.kube
            .get(refOf(o))
            .then((got) => (got === undefined ? undefined : { ...got, apiVersion: o.apiVersion, kind: o.kind }));
          this.reads.set(key, read);
        }
        return read;
      }),
    );
    return found.filter((o): o is KubernetesObject => o !== undefined);
  }

  /** Server-side apply, once per object and content in this batch. */
  apply(obj: KubernetesObject): Promise<KubernetesObject> {
    const key = `${keyOf(obj)}@${appliedHashOf(obj) ?? ''}`;
    let write = this.writes.get(key);
    if (write === undefined) {
      // kube-kinds: v1/ServiceAccount rbac.authorization.k8s.io/v1/RoleBinding
      write = this.kube.apply(obj);
      this.writes.set(key, write);
    }
    return write;
  }
}

function keyOf(o: KubernetesObject): string {
  return `${o.kind ?? ''}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}
