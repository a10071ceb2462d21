// Issue 20, item 6, the other half (ADR 0083): the RBAC in knative/ is checked against what each
// function's code can call. kube-calls.ts reads, with the TypeScript checker, every KubeClient call
// reachable from the function's main.ts (fn-runtime helpers and shared packages included) and the kind
// it addresses; this test turns them into RBAC requests and fails when a ClusterRole grants a verb on
// a resource the code never uses, or lacks one it uses. Pure: no API server (the least-privilege
// matrix checks that the API server enforces these roles).
import { expect } from 'chai';
import { loadKustomization, knativeServicesOf, FUNCTION_LABEL } from '@pgfn/pipeline';
import { createProgram, kubeCallsOf, type KubeCall } from './kube-calls.js';
import { granted, rulesOf, type Rule } from './rbac-rules.js';

const FUNCTIONS = ['reconcile', 'rolling-update', 'team-role-sync', 'backup-verify'] as const;

/** `verb group/resource`, the unit both sides are compared in. */
type Permission = string;

function permission(verb: string, group: string, resource: string): Permission {
  return `${verb} ${group}/${resource}`;
}

/** The plural resource of a kind, as the API server names it (Endpoints, StorageClass, postgresql…). */
function plural(kind: string): string {
  const lower = kind.toLowerCase();
  return lower.endsWith('ss') ? `${lower}es` : lower.endsWith('s') ? lower : `${lower}s`;
}

/**
 * What the calls need. Server-side apply is a PATCH that creates what does not exist: it needs
 * `patch`, and `create` is allowed for what the function applies (needed when it may be absent).
 * A RoleBinding to a ClusterRole needs `bind` on that role.
 */
function needs(calls: readonly KubeCall[]): { required: Set<Permission>; allowed: Set<Permission> } {
  const required = new Set<Permission>();
  const allowed = new Set<Permission>();
  for (const c of calls) {
    const group = c.apiVersion.includes('/') ? (c.apiVersion.split('/')[0] ?? '') : '';
    const resource = plural(c.kind) + (c.subresource === undefined ? '' : `/${c.subresource}`);
    (c.via === 'apply' && c.verb === 'create' ? allowed : required).add(permission(c.verb, group, resource));
    if (group === 'rbac.authorization.k8s.io' && c.kind === 'RoleBinding' && c.verb === 'patch')
      required.add(permission('bind', 'rbac.authorization.k8s.io', 'clusterroles'));
  }
  return { required, allowed };
}

/** Every verb/resource the rules grant (resourceNames-limited rules included). */
function grants(rules: readonly Rule[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const r of rules)
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs) out.add(permission(v, g, res));
  return out;
}

/** Granted but never used, and used but not granted. */
function compare(rules: readonly Rule[], calls: readonly KubeCall[]): { unused: string[]; missing: string[] } {
  const { required, allowed } = needs(calls);
  const missing = [...required].filter((p) => {
    const [verb = '', gr = ''] = p.split(' ');
    const [group = '', ...rest] = gr.split('/');
    return !granted(rules, { verb, group, resource: rest.join('/'), byName: true });
  });
  const unused = [...grants(rules)].filter((p) => !required.has(p) && !allowed.has(p));
  return { unused: unused.sort(), missing: missing.sort() };
}

describe('reliability: the RBAC in knative/ is exactly what each function’s code calls (static, ADR 0083)', function () {
  this.timeout(300_000);
  const manifests = loadKustomization();
  const program = createProgram();
  const accountOf = (fn: string): string => {
    const svc = knativeServicesOf(manifests).find((s) => s.metadata.labels?.[FUNCTION_LABEL] === fn);
    const sa = svc?.spec.template.spec.serviceAccountName;
    if (sa === undefined) throw new Error(`knative/ has no Knative Service with a ServiceAccount for ${fn}`);
    return sa;
  };

  for (const fn of FUNCTIONS) {
    it(`${fn}: every call's kind is known, and its ClusterRole grants what the calls need and nothing else`, () => {
      const found = kubeCallsOf(program, fn);
      expect([...new Set(found.unresolved)], 'calls whose kind neither types nor a kube-kinds comment tell').to.deep.equal([]);
      expect(found.calls.length, 'KubeClient calls found').to.be.greaterThan(5);
      const rules = rulesOf(manifests, accountOf(fn));
      expect(rules.length, `rules bound to ${accountOf(fn)}`).to.be.greaterThan(0);
      const { unused, missing } = compare(rules, found.calls);
      expect({ unused, missing }).to.deep.equal({ unused: [], missing: [] });
      const sites = new Set(found.calls.map((c) => c.at)).size;
      console.log(`      ${fn}: ${sites} call sites in ${found.files} files, ${needs(found.calls).required.size} permissions needed`);
    });
  }

  it('finds a rule the code never uses and a call no rule grants (the check can fail)', () => {
    const found = kubeCallsOf(program, 'team-role-sync');
    const rules = rulesOf(manifests, accountOf('team-role-sync'));
    const widened: Rule[] = [...rules, { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'delete'] }];
    expect(compare(widened, found.calls).unused).to.deep.equal(['delete /secrets', 'list /secrets']);
    const narrowed = rules.filter((r) => !(r.resources ?? []).includes('postgresteams'));
    expect(compare(narrowed, found.calls).missing).to.include('list acid.zalan.do/postgresteams');
  });
});
