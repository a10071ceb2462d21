// The RBAC rules knative/ ships for a ServiceAccount, and whether they grant a request: shared by the
// least-privilege matrix (what the API server allows) and the check against the code (what it calls).
import type * as k8s from '@kubernetes/client-node';
import { ofKind, type Manifest } from '@pgfn/pipeline';

export interface Rule {
  readonly apiGroups?: string[];
  readonly resources?: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

/** The rules of every ClusterRole knative/ binds to the account. */
export function rulesOf(manifests: readonly Manifest[], account: string): Rule[] {
  const bindings = ofKind<Manifest & k8s.V1ClusterRoleBinding>(manifests, 'rbac.authorization.k8s.io', 'ClusterRoleBinding').filter((b) =>
    (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === account),
  );
  return bindings.flatMap(
    (b) => (manifests.find((m) => m.kind === 'ClusterRole' && m.metadata.name === b.roleRef.name) as { rules?: Rule[] })?.rules ?? [],
  );
}

/** Whether a rule grants `verb` on `resource` (`pods` or `pods/exec`) of `group`; `byName` counts rules limited to resourceNames. */
export function granted(rules: readonly Rule[], request: { verb: string; group: string; resource: string; byName?: boolean }): boolean {
  const has = (list: readonly string[] | undefined, x: string): boolean => (list ?? []).includes(x) || (list ?? []).includes('*');
  return rules.some(
    (rule) =>
      (request.byName === true || (rule.resourceNames ?? []).length === 0) &&
      has(rule.apiGroups, request.group) &&
      has(rule.resources, request.resource) &&
      has(rule.verbs, request.verb),
  );
}
