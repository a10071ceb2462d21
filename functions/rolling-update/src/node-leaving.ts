// Whether a Node is going away (issue 24, ADR 0076, 0096): it is cordoned, no longer has every label of
// node_readiness_label (upstream's end-of-life rule, podIsEndOfLife), or carries a NoExecute taint the
// cluster's pods do not tolerate for good. A node labelled master=true never is (upstream's nodeIsReady).
// Pure, on the Node object alone, so a Node event's data decides without an API read whether it may
// concern anyone (most Node events are status heartbeats).

export interface TaintFacts {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface NodeFacts {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: { readonly unschedulable?: boolean; readonly taints?: readonly TaintFacts[] };
}

/** A pod toleration, as in the pod spec (Kubernetes' field names). */
export interface TolerationFacts {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
  readonly tolerationSeconds?: number;
}

export interface LeavingRules {
  /** Config `node_readiness_label`: a node without every one of these labels is at its end of life. */
  readonly readinessLabel: Readonly<Record<string, string>>;
  /** The cluster's pod tolerations; none when deciding for any cluster (a Node event). */
  readonly tolerations: readonly TolerationFacts[];
}

/** Kubernetes' ToleratesTaint: effect empty or equal; key empty with Exists, or equal; Exists, or an equal value. */
export function tolerates(toleration: TolerationFacts, taint: TaintFacts): boolean {
  if (toleration.effect !== undefined && toleration.effect !== '' && toleration.effect !== taint.effect) return false;
  if (toleration.key !== undefined && toleration.key !== '' && toleration.key !== taint.key) return false;
  const operator = toleration.operator === undefined || toleration.operator === '' ? 'Equal' : toleration.operator;
  if (operator === 'Exists') return true;
  return operator === 'Equal' && (toleration.value ?? '') === (taint.value ?? '');
}

/**
 * The NoExecute taints that evict the cluster's pods: not tolerated at all, or only for tolerationSeconds
 * (the taint manager evicts them then). A taint tolerated without a time limit keeps the pods, and the
 * master, where they are.
 */
export function evictingTaints(node: NodeFacts, tolerations: readonly TolerationFacts[]): TaintFacts[] {
  return (node.spec?.taints ?? []).filter(
    (t) => t.effect === 'NoExecute' && !tolerations.some((tol) => tol.tolerationSeconds === undefined && tolerates(tol, t)),
  );
}

/** The reason the node is going away for a cluster with these tolerations, or undefined while it is fit for masters. */
export function nodeLeaving(node: NodeFacts, rules: LeavingRules): string | undefined {
  const name = node.metadata?.name ?? '(unnamed)';
  const labels = node.metadata?.labels ?? {};
  if (labels['master'] === 'true') return undefined;
  if (node.spec?.unschedulable === true) return `node ${name} is cordoned`;
  const taint = evictingTaints(node, rules.tolerations)[0];
  if (taint !== undefined) return `node ${name} has the NoExecute taint ${taint.key}${taint.value ? `=${taint.value}` : ''}`;
  const missing = Object.entries(rules.readinessLabel).filter(([k, v]) => labels[k] !== v);
  if (missing.length > 0) return `node ${name} lost the readiness label ${missing.map(([k, v]) => `${k}=${v}`).join(',')}`;
  return undefined;
}
