// pgfn's own rules for the manifests we ship (no cluster needed): scaling bounds, one identity per
// function, routing, RBAC. The dry-run test covers the CRD schemas; Knative's own webhook rules (filter
// dialects, attribute names, reserved PORT, probe ports, …) run as Knative's Go code in webhook.test.ts.
import { expect } from 'chai';
import {
  FUNCTION_LABEL,
  adapterConfigFor,
  apiServerSourcesOf,
  knativeServicesOf,
  loadKustomization,
  loadManifests,
  pingEvent,
  pingSourcesOf,
  triggerPasses,
  triggersOf,
  parseCron,
  parseIsoDuration,
  validateTriggerFilters,
  type Manifest,
} from '@pgfn/pipeline';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';

const FUNCTIONS = ['reconcile', 'rolling-update', 'backup-verify', 'team-role-sync'];
const manifests = loadKustomization();
const triggers = triggersOf(manifests);
const services = knativeServicesOf(manifests);
const named = (kind: string, name: string): Manifest | undefined => manifests.find((m) => m.kind === kind && m.metadata.name === name);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
const rulesOf = (role: string): Rule[] => (named('ClusterRole', role) as unknown as { rules?: Rule[] } | undefined)?.rules ?? [];

/** The container fields Knative Serving's rules concern. */
interface ServingContainer {
  readinessProbe?: { httpGet?: unknown };
  livenessProbe?: { httpGet?: unknown };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean };
}

interface RoleBinding {
  subjects?: { name: string }[];
  roleRef: { name: string };
}

describe('knative/ manifests', () => {
  it('are all in pgfn-system, except cluster-scoped objects and the CRDs', () => {
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
    for (const m of manifests) {
      if (clusterScoped.has(m.kind)) expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).to.equal(undefined);
      else expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).to.equal('pgfn-system');
    }
  });

  it('include the three CRDs from crds/', () => {
    expect(
      manifests
        .filter((m) => m.kind === 'CustomResourceDefinition')
        .map((m) => m.metadata.name)
        .sort(),
    ).to.deep.equal(['operatorconfigurations.acid.zalan.do', 'postgresqls.acid.zalan.do', 'postgresteams.acid.zalan.do']);
  });

  for (const fn of FUNCTIONS) {
    describe(`function ${fn}`, () => {
      const svc = services.find((s) => s.metadata.labels?.[FUNCTION_LABEL] === fn);
      const podSpec = svc?.spec.template.spec;
      const container = podSpec?.containers[0];
      const annotations = svc?.spec.template.metadata?.annotations ?? {};

      it('has a Knative Service that scales to zero and is bounded', () => {
        expect(svc, 'Service').to.not.equal(undefined);
        expect(annotations['autoscaling.knative.dev/min-scale']).to.equal('0');
        expect(Number(annotations['autoscaling.knative.dev/max-scale'])).to.be.within(1, 10);
        expect(podSpec?.containerConcurrency).to.be.greaterThan(0);
        expect(podSpec?.containers).to.have.length(1);
        expect(container?.args).to.deep.equal([`/app/dist/${fn}.mjs`]);
        expect(svc?.metadata.labels?.['networking.knative.dev/visibility']).to.equal('cluster-local');
      });

      it('has health probes, resource requests, a memory limit and runs as non-root', () => {
        const c = container as unknown as ServingContainer;
        expect(c.readinessProbe?.httpGet).to.deep.equal({ path: '/readyz' });
        expect(c.livenessProbe?.httpGet).to.deep.equal({ path: '/healthz' });
        expect(c.resources?.requests?.['cpu']).to.be.a('string');
        expect(c.resources?.limits?.['memory']).to.be.a('string');
        expect(c.securityContext?.runAsNonRoot).to.equal(true);
      });

      it('runs as its own ServiceAccount, bound to its own ClusterRole only', () => {
        const sa = podSpec?.serviceAccountName;
        expect(sa).to.equal(`pgfn-${fn}`);
        expect(named('ServiceAccount', sa ?? '')).to.not.equal(undefined);
        const bindings = manifests
          .filter((m) => m.kind === 'ClusterRoleBinding')
          .map((m) => m as unknown as RoleBinding)
          .filter((b) => (b.subjects ?? []).some((s) => s.name === sa));
        expect(bindings.map((b) => b.roleRef.name)).to.deep.equal([`pgfn-${fn}`]);
        const rules = rulesOf(`pgfn-${fn}`);
        expect(rules.length).to.be.greaterThan(0);
        for (const r of rules) {
          expect(r.verbs, JSON.stringify(r)).to.not.include('*');
          expect(r.resources, JSON.stringify(r)).to.not.include('*');
        }
      });

      it('is subscribed by exactly one Trigger with retries, exponential backoff and a dead-letter sink', () => {
        const mine = triggers.filter((t) => t.spec.subscriber.ref?.name === svc?.metadata.name);
        expect(mine).to.have.length(1);
        const t = mine[0];
        expect(t?.spec.broker).to.equal('pgfn');
        expect(t?.spec.delivery?.retry).to.be.greaterThan(0);
        expect(t?.spec.delivery?.backoffPolicy).to.equal('exponential');
        expect(parseIsoDuration(t?.spec.delivery?.backoffDelay ?? '')).to.be.greaterThan(0);
        expect(t?.spec.delivery?.deadLetterSink?.ref?.name).to.equal('pgfn-dead-letter');
        // a Trigger's timeout beyond the Service's request timeout would be cut short by Knative
        expect(parseIsoDuration(t?.spec.delivery?.timeout ?? 'PT0S') / 1000).to.be.at.most(podSpec?.timeoutSeconds ?? 300);
      });
    });
  }

  it('gives reconcile exactly the calls its code makes', () => {
    // functions/reconcile/src: reconcile.ts, deletion.ts, role-sync.ts, status.ts, operator-config.ts, handler.ts via shared/kube
    const have = new Set(
      rulesOf('pgfn-reconcile').flatMap((r) =>
        r.apiGroups.flatMap((g) =>
          r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${g}/${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}`)),
        ),
      ),
    );
    const want = [
      'get acid.zalan.do/postgresqls',
      'list acid.zalan.do/postgresqls',
      'patch acid.zalan.do/postgresqls',
      'patch acid.zalan.do/postgresqls/status',
      'get acid.zalan.do/operatorconfigurations',
      'get /configmaps',
      'list /configmaps',
      'delete /configmaps',
      'list /pods',
      'patch /pods',
      // the pooler's pods after a password rotation; Patroni's ConfigMaps adopted (rbac-from-code found both)
      'delete /pods',
      'patch /configmaps',
      'create /events',
      'list /persistentvolumeclaims',
      'delete /persistentvolumeclaims',
      ...[
        '/secrets',
        '/services',
        '/endpoints',
        'policy/poddisruptionbudgets',
        'apps/statefulsets',
        'apps/deployments',
        'batch/cronjobs',
      ].flatMap((r) => ['get', 'list', 'create', 'patch', 'delete'].map((v) => `${v} ${r}`)),
      'get /serviceaccounts',
      'create /serviceaccounts',
      'patch /serviceaccounts',
      'get rbac.authorization.k8s.io/rolebindings',
      'create rbac.authorization.k8s.io/rolebindings',
      'patch rbac.authorization.k8s.io/rolebindings',
      'bind rbac.authorization.k8s.io/clusterroles[postgres-pod]',
      // streams-sync.ts: is the optional FES CRD installed, and the cluster's FabricEventStream objects
      'get apiextensions.k8s.io/customresourcedefinitions[fabriceventstreams.zalando.org]',
      ...['list', 'create', 'patch', 'delete'].map((v) => `${v} zalando.org/fabriceventstreams`),
    ];
    expect([...have].sort()).to.deep.equal([...want].sort());
  });

  describe('ApiServerSources', () => {
    const sources = apiServerSourcesOf(manifests);
    it('run in Resource mode across all namespaces as pgfn-apiserver-source, sending to the Broker', () => {
      expect(sources.map((s) => s.metadata.name).sort()).to.deep.equal(['pgfn-nodes', 'pgfn-resources', 'pgfn-spilo']);
      for (const s of sources) {
        expect(s.spec.mode).to.equal('Resource');
        expect(s.spec.namespaceSelector).to.deep.equal({});
        expect(s.spec.serviceAccountName).to.equal('pgfn-apiserver-source');
        expect(s.spec.sink.ref).to.include({ kind: 'Broker', name: 'pgfn' });
      }
    });

    it("derive the receive adapter configuration Knative's controller would give them", async () => {
      const configs = await Promise.all(sources.map((s) => adapterConfigFor(s)));
      expect(JSON.parse(JSON.stringify(configs))).to.deep.equal([
        {
          namespaces: [],
          allNamespaces: true,
          mode: 'Resource',
          resources: [
            { gvr: { Group: 'acid.zalan.do', Version: 'v1', Resource: 'postgresqls' } },
            { gvr: { Group: 'acid.zalan.do', Version: 'v1', Resource: 'postgresteams' } },
            { gvr: { Group: 'acid.zalan.do', Version: 'v1', Resource: 'operatorconfigurations' } },
          ],
        },
        {
          namespaces: [],
          allNamespaces: true,
          mode: 'Resource',
          resources: [{ gvr: { Group: '', Version: 'v1', Resource: 'pods' }, selector: 'application=spilo' }],
        },
        {
          namespaces: [],
          allNamespaces: true,
          mode: 'Resource',
          resources: [{ gvr: { Group: '', Version: 'v1', Resource: 'nodes' } }],
        },
      ]);
    });

    it('have get/list/watch on exactly what they watch, and nothing else', async () => {
      const configs = await Promise.all(sources.map((s) => adapterConfigFor(s)));
      const watched = configs.flatMap((c) => c.resources.map((r) => `${r.gvr.Group}/${r.gvr.Resource}`)).sort();
      const rules = rulesOf('pgfn-apiserver-source');
      for (const r of rules) expect([...r.verbs].sort()).to.deep.equal(['get', 'list', 'watch']);
      expect(rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`))).sort()).to.deep.equal(watched);
    });
  });

  describe('routing: which function each event reaches through the shipped Triggers', () => {
    const resourceEvent = (verb: string, kind: string): Record<string, string> => ({
      specversion: '1.0',
      id: 'x',
      source: 'https://127.0.0.1:6443',
      type: `dev.knative.apiserver.resource.${verb}`,
      kind,
      name: 'n',
      namespace: 'ns',
      apiversion: 'v1',
    });
    const own = (type: string): Record<string, string> => ({
      specversion: '1.0',
      id: 'x',
      source: 'pgfn/reconcile',
      type,
      subject: 'ns/acid-a',
    });
    const pings = Object.fromEntries(pingSourcesOf(manifests).map((p) => [p.metadata.name, pingEvent(p).attributes]));
    const cases: [string, Readonly<Record<string, string>>, string[]][] = [
      // team-role-sync hears of a changed spec from reconcile, not from every postgresql event (ADR 0132)
      ['a postgresql add', resourceEvent('add', 'postgresql'), ['pgfn-reconcile']],
      ['a postgresql update', resourceEvent('update', 'postgresql'), ['pgfn-reconcile', 'pgfn-rolling-update']],
      ['a postgresql delete', resourceEvent('delete', 'postgresql'), ['pgfn-reconcile']],
      ['a PostgresTeam update', resourceEvent('update', 'PostgresTeam'), ['pgfn-team-role-sync']],
      ['an OperatorConfiguration update', resourceEvent('update', 'OperatorConfiguration'), ['pgfn-reconcile', 'pgfn-team-role-sync']],
      // reconcile relays to rolling-update the pod changes it has work in (ADR 0120)
      ['a Spilo pod update', resourceEvent('update', 'Pod'), ['pgfn-reconcile']],
      ['a Spilo StatefulSet update', resourceEvent('update', 'StatefulSet'), ['pgfn-reconcile', 'pgfn-rolling-update']],
      ['a Node update (cordon, taints, labels)', resourceEvent('update', 'Node'), ['pgfn-rolling-update']],
      [
        'a ref-mode postgresql event (we ship Resource mode only)',
        { ...resourceEvent('add', 'postgresql'), type: 'dev.knative.apiserver.ref.add' },
        [],
      ],
      ['the resync ping', pings['pgfn-resync'] ?? {}, ['pgfn-reconcile', 'pgfn-rolling-update']],
      ['the backup-check ping', pings['pgfn-backup-check'] ?? {}, ['pgfn-backup-verify']],
      ['the rolling-update check ping', pings['pgfn-rolling-update-check'] ?? {}, ['pgfn-rolling-update']],
      ['the team-sync ping', pings['pgfn-team-sync'] ?? {}, ['pgfn-team-role-sync']],
      ['dev.pgfn.rollingupdate.required', own('dev.pgfn.rollingupdate.required'), ['pgfn-rolling-update']],
      ['dev.pgfn.reconcile.requested', own('dev.pgfn.reconcile.requested'), ['pgfn-reconcile']],
      ['dev.pgfn.cluster.ready', own('dev.pgfn.cluster.ready'), ['pgfn-backup-verify', 'pgfn-team-role-sync']],
      ['dev.pgfn.cluster.updated', own('dev.pgfn.cluster.updated'), ['pgfn-team-role-sync']],
      ['dev.pgfn.backup.completed', own('dev.pgfn.backup.completed'), ['pgfn-backup-verify']],
      ['dev.pgfn.backup.verify.requested', own('dev.pgfn.backup.verify.requested'), ['pgfn-backup-verify']],
      ['dev.pgfn.backup.requested', own('dev.pgfn.backup.requested'), ['pgfn-backup-verify']],
      ['dev.pgfn.backup.failed (for subscribers, not for pgfn)', own('dev.pgfn.backup.failed'), []],
      ['dev.pgfn.cluster.invalid', own('dev.pgfn.cluster.invalid'), []],
      [
        'an unrelated ping',
        { specversion: '1.0', id: 'x', type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/other/pingsources/x' },
        [],
      ],
    ];
    for (const [what, attributes, want] of cases) {
      it(`${what} → ${want.length === 0 ? 'nobody' : want.join(', ')}`, () => {
        expect(
          triggers
            .filter((t) => triggerPasses(t.spec, attributes))
            .map((t) => t.metadata.name)
            .sort(),
        ).to.deep.equal(want);
      });
    }
  });

  it('has PingSources with valid schedules, each consumed by some Trigger', () => {
    for (const p of pingSourcesOf(manifests)) {
      parseCron(p.spec.schedule);
      expect(
        triggers.some((t) => triggerPasses(t.spec, pingEvent(p).attributes)),
        p.metadata.name,
      ).to.equal(true);
    }
  });

  it('binds every pgfn function Service to the Broker with the SinkBinding', () => {
    const binding = named('SinkBinding', 'pgfn-functions') as unknown as {
      spec: { subject: { selector: { matchLabels: Record<string, string> } }; sink: { ref: { name: string } } };
    };
    const selector = binding.spec.subject.selector.matchLabels;
    const bound = services.filter((s) => Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v));
    expect(bound.map((s) => s.metadata.labels?.[FUNCTION_LABEL]).sort()).to.deep.equal([...FUNCTIONS].sort());
    expect(binding.spec.sink.ref.name).to.equal('pgfn');
  });

  it('has an example subscriber to dev.pgfn.backup.failed, and only that', () => {
    const [trigger] = triggersOf(loadManifests(join(repoRoot, 'knative/examples/backup-failed-alert.yaml')));
    expect(validateTriggerFilters(trigger?.spec ?? {})).to.deep.equal([]);
    const own = (type: string): Record<string, string> => ({
      specversion: '1.0',
      id: '1',
      source: 'pgfn/backup-verify',
      type,
      subject: 'ns/acid-a',
    });
    expect(triggerPasses(trigger?.spec ?? {}, own('dev.pgfn.backup.failed'))).to.equal(true);
    expect(triggerPasses(trigger?.spec ?? {}, own('dev.pgfn.backup.verified'))).to.equal(false);
  });

  it("has an example subscriber whose Trigger filters on pgfn's own events", () => {
    const example = loadManifests(join(repoRoot, 'knative/examples/cluster-ready-notifier.yaml'));
    const [trigger] = triggersOf(example);
    expect(
      triggerPasses(trigger?.spec ?? {}, {
        specversion: '1.0',
        id: '1',
        source: 'pgfn/reconcile',
        type: 'dev.pgfn.cluster.ready',
        subject: 'ns/acid-a',
      }),
    ).to.equal(true);
    expect(
      triggerPasses(trigger?.spec ?? {}, {
        specversion: '1.0',
        id: '1',
        source: 'x',
        type: 'dev.knative.apiserver.resource.add',
        kind: 'postgresql',
      }),
    ).to.equal(false);
  });
});
