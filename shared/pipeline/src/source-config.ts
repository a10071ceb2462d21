// What Knative's ApiServerSource controller hands its receive adapter as K_SOURCE_CONFIG, computed from
// our ApiServerSource manifests the way knative.dev/eventing v0.49 does it
// (pkg/reconciler/apiserversource/apiserversource.go namespacesFromSelector/isEmptySelector,
// resources/receive_adapter.go makeEnv; the JSON shape is pkg/adapter/apiserver/config.go).
import type { ApiServerSourceManifest, LabelSelector } from './manifests.js';

/** K_SOURCE_CONFIG. Go's encoding of schema.GroupVersionResource has capitalised keys. */
export interface AdapterConfig {
  namespaces: string[];
  allNamespaces: boolean;
  resources: { gvr: { Group: string; Version: string; Resource: string }; selector?: string }[];
  owner?: { apiVersion?: string; kind?: string };
  mode: string;
  filters?: unknown[];
  failFast?: boolean;
}

/**
 * The adapter configuration for one source. `listNamespaces` answers a namespace label selector; it
 * is only called for a non-empty namespaceSelector (the controller re-resolves those when namespaces
 * change — a local run resolves once at start).
 */
export async function adapterConfigFor(
  source: ApiServerSourceManifest,
  listNamespaces: (selector: string) => Promise<string[]> = () => Promise.reject(new Error('no namespace lister given')),
): Promise<AdapterConfig> {
  const sel = source.spec.namespaceSelector;
  const allNamespaces = sel !== undefined && selectorString(sel) === '';
  // With allNamespaces the adapter watches cluster-wide and never reads the list (the controller
  // fills it with every namespace; locally that would need a right the adapter itself does not need).
  let namespaces: string[] = [];
  if (sel === undefined) namespaces = [source.metadata.namespace ?? 'default'];
  else if (!allNamespaces) namespaces = [...(await listNamespaces(selectorString(sel)))].sort();
  const config: AdapterConfig = {
    namespaces,
    allNamespaces,
    resources: source.spec.resources.map((r) => {
      const [group, version] = r.apiVersion.includes('/') ? (r.apiVersion.split('/', 2) as [string, string]) : ['', r.apiVersion];
      const selector = r.selector === undefined ? undefined : selectorString(r.selector);
      return { gvr: { Group: group, Version: version, Resource: guessResource(r.kind) }, ...(selector === undefined ? {} : { selector }) };
    }),
    // An unset mode is Reference in Knative; pgfn's sources always say Resource.
    mode: source.spec.mode ?? 'Reference',
  };
  if (source.spec.owner !== undefined) config.owner = source.spec.owner;
  if (source.spec.filters !== undefined) config.filters = [...source.spec.filters];
  // The controller sets failFast only with the skip-permissions-check annotation.
  if (source.metadata.annotations?.['features.knative.dev/apiserversource-skip-permissions-check'] === 'true') config.failFast = true;
  return config;
}

/**
 * The plural resource name Kubernetes' meta.UnsafeGuessKindToResource derives from a kind: lower case,
 * then "es" after s, "ies" for a trailing y, "s" otherwise ("endpoints" stays as it is).
 */
export function guessResource(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular === '' || singular.endsWith('endpoints')) return singular;
  if (singular.endsWith('s')) return `${singular}es`;
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/**
 * A label selector in Kubernetes' string form (labels.Selector.String()): requirements sorted by key,
 * `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, joined by commas; "" selects everything.
 */
export function selectorString(sel: LabelSelector): string {
  const reqs: [string, string][] = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => [k, `${k}=${v}`]);
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In':
        reqs.push([e.key, `${e.key} in (${values})`]);
        break;
      case 'NotIn':
        reqs.push([e.key, `${e.key} notin (${values})`]);
        break;
      case 'Exists':
        reqs.push([e.key, e.key]);
        break;
      case 'DoesNotExist':
        reqs.push([e.key, `!${e.key}`]);
        break;
      default:
        throw new Error(`label selector operator ${e.operator} of key ${e.key} is not one of In, NotIn, Exists, DoesNotExist`);
    }
  }
  // A stable sort by key keeps Go's order for equal keys.
  return reqs
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => r)
    .join(',');
}
