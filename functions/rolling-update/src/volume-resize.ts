// Upstream's syncVolumes (pkg/cluster/volumes.go) as a decision: which PersistentVolumeClaims to grow
// for storage_resize_mode, and what to say when a change cannot happen. pgfn compares exact
// quantities where upstream rounds both sides down to whole GiB (so 1Gi → 1.5Gi grows here, and is
// ignored upstream). `ebs` and `mixed` call the AWS EC2 API, which cannot run on a local node: the
// decision is made and reported, never executed (ADR 0026).
import type { Volume } from '@pgfn/api';
import { compareQuantities, isQuantity } from '@pgfn/builder';
import { byCodeUnit } from '@pgfn/fn-runtime';

export interface ClaimView {
  readonly name: string;
  /** spec.resources.requests.storage */
  readonly requested: string | undefined;
  readonly storageClass: string | undefined;
}

export interface ResizeInput {
  /** storage_resize_mode: pvc (default), off, ebs or mixed. */
  readonly mode: string;
  readonly volume: Volume;
  readonly claims: readonly ClaimView[];
  /** allowVolumeExpansion of each StorageClass by name (absent: unknown class). */
  readonly expandable: ReadonlyMap<string, boolean>;
}

export interface ResizePlan {
  /** Claims to patch to `size`. */
  readonly grow: readonly { readonly claim: string; readonly from: string; readonly size: string }[];
  /** Why the volumes do not match the manifest and will not (shrink, off, no expansion, cloud modes). */
  readonly problems: readonly string[];
}

export function planVolumeResize(input: ResizeInput): ResizePlan {
  const size = input.volume.size;
  if (!isQuantity(size)) return { grow: [], problems: [`spec.volume.size "${size}" is not a Kubernetes quantity`] };
  const grow: { claim: string; from: string; size: string }[] = [];
  const problems: string[] = [];
  const smaller: ClaimView[] = [];
  for (const claim of [...input.claims].sort((a, b) => byCodeUnit(a.name, b.name))) {
    const requested = claim.requested ?? '0';
    const cmp = isQuantity(requested) ? compareQuantities(requested, size) : -1;
    if (cmp > 0)
      problems.push(`cannot shrink volume ${claim.name} from ${requested} to ${size}: Kubernetes never shrinks a PersistentVolumeClaim`);
    if (cmp < 0) smaller.push(claim);
  }
  if (smaller.length === 0) return { grow, problems };
  const names = smaller.map((c) => c.name).join(', ');
  switch (input.mode) {
    case 'off':
      problems.push(`storage_resize_mode is off: ${names} stay below ${size}`);
      break;
    case 'ebs':
      problems.push(
        `storage_resize_mode ebs grows ${names} to ${size} through the AWS EC2 API, which cannot run here; nothing was resized`,
      );
      break;
    case 'pvc':
    case 'mixed':
      for (const claim of smaller) {
        const cls = claim.storageClass ?? '';
        if (input.expandable.get(cls) !== true)
          problems.push(`cannot grow ${claim.name}: StorageClass "${cls}" does not allow volume expansion (allowVolumeExpansion)`);
        else grow.push({ claim: claim.name, from: claim.requested ?? '', size });
      }
      break;
    default:
      problems.push(`unknown storage_resize_mode "${input.mode}" (use pvc, off, ebs or mixed): ${names} stay below ${size}`);
  }
  if (
    input.mode === 'mixed' &&
    (input.volume.iops !== undefined || input.volume.throughput !== undefined || input.volume.type !== undefined)
  )
    problems.push('storage_resize_mode mixed sets EBS type, iops and throughput through the AWS EC2 API, which cannot run here');
  return { grow, problems };
}
