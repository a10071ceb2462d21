// The stand-in path's SinkBinding (ADR 0085): which of knative/'s Services a SinkBinding binds (its
// subject: a name, or a label selector with Kubernetes' semantics) and the variables Knative would inject,
// so a function gets K_SINK only when knative/ says so, as on a cluster. On the Knative path Knative's own
// SinkBinding reconciler does this (knative-path.ts).
import type { DestinationSpec } from './delivery.js';
import type { Manifest } from './manifests.js';

interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

export interface SinkBindingManifest extends Manifest {
  readonly spec: {
    readonly subject: {
      readonly apiVersion: string;
      readonly kind: string;
      readonly namespace?: string;
      readonly name?: string;
      readonly selector?: {
        readonly matchLabels?: Readonly<Record<string, string>>;
        readonly matchExpressions?: readonly LabelSelectorRequirement[];
      };
    };
    readonly sink: DestinationSpec;
    readonly ceOverrides?: { readonly extensions?: Readonly<Record<string, string>> };
  };
}

/** Whether `binding` binds `object`: same kind and group, same namespace, and its name or its selector matches. */
export function binds(binding: SinkBindingManifest, object: Manifest): boolean {
  const subject = binding.spec.subject;
  const group = (apiVersion: string): string => (apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '');
  if (subject.kind !== object.kind || group(subject.apiVersion) !== group(object.apiVersion)) return false;
  const namespace = subject.namespace ?? binding.metadata.namespace ?? 'default';
  if ((object.metadata.namespace ?? 'default') !== namespace) return false;
  if (subject.name !== undefined) return subject.name === object.metadata.name;
  if (subject.selector === undefined) return false;
  const labels = object.metadata.labels ?? {};
  const matchLabels = Object.entries(subject.selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const matchExpressions = (subject.selector.matchExpressions ?? []).every((r) => {
    const value = labels[r.key];
    if (r.operator === 'Exists') return value !== undefined;
    if (r.operator === 'DoesNotExist') return value === undefined;
    const listed = value !== undefined && (r.values ?? []).includes(value);
    return r.operator === 'In' ? listed : !listed;
  });
  return matchLabels && matchExpressions;
}

/**
 * What the first SinkBinding binding `object` injects: K_SINK (the sink, resolved by `sinkUrl`) and,
 * with ceOverrides, K_CE_OVERRIDES. Empty when none binds it or its sink does not resolve here.
 */
export function boundVariables(
  bindings: readonly SinkBindingManifest[],
  object: Manifest,
  sinkUrl: (sink: DestinationSpec, namespace: string) => string | undefined,
): Record<string, string> {
  const binding = bindings.find((b) => binds(b, object));
  if (binding === undefined) return {};
  const url = sinkUrl(binding.spec.sink, binding.metadata.namespace ?? 'default');
  if (url === undefined) return {};
  const overrides: Record<string, string> =
    binding.spec.ceOverrides === undefined ? {} : { K_CE_OVERRIDES: JSON.stringify(binding.spec.ceOverrides) };
  return { K_SINK: url, ...overrides };
}
