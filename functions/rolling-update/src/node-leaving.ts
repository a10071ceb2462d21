// Whether a Node is going away (issue 24, ADR 0076): it is cordoned, carries a NoExecute taint, or no
// longer has every label of node_readiness_label. Pure, on the Node object alone, so a Node event's data
// decides without an API read whether it concerns anyone (most Node events are status heartbeats).

export interface NodeFacts {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: { readonly unschedulable?: boolean; readonly taints?: readonly { key: string; value?: string; effect: string }[] };
}

/** The reason the node is going away, or undefined while it is fit for masters. */
export function nodeLeaving(node: NodeFacts, readinessLabel: Readonly<Record<string, string>>): string | undefined {
  const name = node.metadata?.name ?? '(unnamed)';
  if (node.spec?.unschedulable === true) return `node ${name} is cordoned`;
  const noExecute = (node.spec?.taints ?? []).find((t) => t.effect === 'NoExecute');
  if (noExecute !== undefined)
    return `node ${name} has the NoExecute taint ${noExecute.key}${noExecute.value ? `=${noExecute.value}` : ''}`;
  const labels = node.metadata?.labels ?? {};
  const missing = Object.entries(readinessLabel).filter(([k, v]) => labels[k] !== v);
  if (missing.length > 0) return `node ${name} lost the readiness label ${missing.map(([k, v]) => `${k}=${v}`).join(',')}`;
  return undefined;
}
