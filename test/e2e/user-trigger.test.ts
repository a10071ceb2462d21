// The README walkthrough "subscribing your own process": a user runs `npm run event-display`,
// `kubectl apply`s knative/examples/local-subscriber.yaml, and receives pgfn's dev.pgfn.* events through
// the Broker; `kubectl delete` stops them. The events come from the real path: the receive adapter sees
// the postgresql, the Broker routes it to reconcile, reconcile emits dev.pgfn.cluster.invalid into the
// Broker, and the Broker delivers it by the Trigger it read from the API server. Both paths: the stand-in
// broker (its TriggerWatch) and Knative's own (mt-broker controller, ingress, channel, filter).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { binaries, freePort, kubectlRun, repoRoot } from '@pgfn/controlplane';
import { deleteTriggers, startPipeline, userServiceFunction, type Pipeline } from '@pgfn/pipeline';
import { ensureCrds } from '../crds/install.js';
import { identityForFunction, identityForServiceAccount } from '../support/fn-identity.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { kubectl } from '../knative/knative-crds.js';
import { example, onKwok } from '../reconcile/support.js';

const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const TRIGGER = { group: 'eventing.knative.dev', version: 'v1', namespace: 'pgfn-system', plural: 'triggers' };
const SERVICE = { group: 'serving.knative.dev', version: 'v1', namespace: 'pgfn-system', plural: 'services' };
const SINKBINDING = { group: 'sources.knative.dev', version: 'v1', namespace: 'pgfn-system', plural: 'sinkbindings' };

interface Displayed {
  readonly type: string;
  readonly subject?: string;
  readonly data?: { readonly errors?: string[] };
}
interface ServiceStatus {
  readonly status?: { readonly address?: { readonly url?: string } | null; readonly conditions?: Condition[] };
}
interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

for (const path of ['stand-in broker', "Knative's own broker"] as const) {
  describe(`end to end: a Trigger a user applies to the API server (${path})`, function () {
    this.timeout(360_000);
    const knative = path === "Knative's own broker";
    let kc: k8s.KubeConfig;
    let custom: k8s.CustomObjectsApi;
    let ns: { name: string; cleanup: () => Promise<void> };
    let pipeline: Pipeline;
    let display: ChildProcess;
    const displayed: Displayed[] = [];
    let port: number;
    // The example, pointed at this test's event-display and named per run (Triggers share pgfn-system).
    const name = `local-subscriber-${knative ? 'kn-' : ''}${process.pid}`;
    let manifest: string;
    const logDir = mkdtempSync(join(tmpdir(), 'pgfn-e2e-trigger-'));
    // A second Trigger's subscriber that stays: shows an event was routed while the deleted one got nothing.
    let witness: Server;
    const witnessed: string[] = [];

    before(async () => {
      kc = adminConfig();
      custom = kc.makeApiClient(k8s.CustomObjectsApi);
      await ensureCrds(kc);
      ns = await createNamespace(kc, knative ? 'e2e-trigger-kn' : 'e2e-trigger');
      witness = createServer((req, res) => {
        witnessed.push(`${String(req.headers['ce-type'])} ${String(req.headers['ce-subject'])}`);
        req.resume();
        res.writeHead(202).end();
      });
      await new Promise<void>((resolve) => witness.listen(0, '127.0.0.1', () => resolve()));
      port = await freePort();
      display = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'hack/event-display.ts'), String(port)], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      createInterface({ input: display.stdout! }).on('line', (line) => displayed.push(JSON.parse(line) as Displayed));
      const fn = await identityForFunction('reconcile');
      const source = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system');
      pipeline = await startPipeline({
        kubeconfig: fn.file,
        adapterKubeconfig: source.file,
        logDir,
        functions: { reconcile: { env: { WATCHED_NAMESPACE: ns.name } } },
        sources: ['pgfn-resources'],
        schedulePings: false,
        idleMs: 120_000,
        ...(knative ? { knative: { kubeconfig: testEnv().kubeconfig } } : { triggersFromApi: { kubeconfig: testEnv().kubeconfig } }),
      });
      manifest = readFileSync(join(repoRoot, 'knative/examples/local-subscriber.yaml'), 'utf8')
        .replace('name: local-subscriber', `name: ${name}`)
        .replace('http://127.0.0.1:8099/', `http://127.0.0.1:${port}/`);
      // The event-display must be listening before events can reach it.
      await eventually(
        'event-display listening',
        async () =>
          fetch(`http://127.0.0.1:${port}/`).then(
            () => true,
            () => undefined,
          ),
        30_000,
      );
    });
    after(async () => {
      // With their Subscriptions, one at a time, while Knative's controllers run (ADR 0151).
      await deleteTriggers(
        testEnv().kubeconfig,
        [name, `${name}-witness`, `${name}-team`, 'refused-trigger'].map((n) => ({ namespace: 'pgfn-system', name: n })),
      );
      await kubectl(
        'delete',
        '--ignore-not-found',
        '--timeout=60s',
        '--cascade=foreground',
        '-f',
        join(repoRoot, 'knative/examples/cluster-ready-notifier.yaml'),
      ).catch(() => '');
      await pipeline?.stop();
      witness?.close();
      display?.kill();
      await ns?.cleanup();
    });

    const readyOf = async (trigger: string): Promise<Condition | undefined> => {
      const t = (await custom.getNamespacedCustomObject({ ...TRIGGER, name: trigger })) as {
        metadata: { generation?: number };
        status?: { observedGeneration?: number; conditions?: Condition[] };
      };
      if (t.status?.observedGeneration !== t.metadata.generation) return undefined;
      // Knative's controller reports Unknown while it sets up the subscription: not an outcome yet.
      const ready = t.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'Unknown' ? undefined : ready;
    };
    const createInvalid = async (cluster: string): Promise<void> => {
      const bad = onKwok(example('minimal.yaml', ns.name, cluster));
      bad.spec.users = { ...bad.spec.users, both: ['login', 'nologin'] };
      await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body: bad });
    };

    it('kubectl apply: the Trigger becomes Ready and its subscriber receives dev.pgfn.* events', async () => {
      await kubectlApply(manifest);
      const ready = await eventually('the Trigger Ready', async () => readyOf(name), 120_000, 250);
      expect(ready.status, JSON.stringify(ready)).to.equal('True');
      await createInvalid('acid-seen');
      const got = await eventually(
        'dev.pgfn.cluster.invalid at the event-display',
        () => Promise.resolve(displayed.find((e) => e.subject === `${ns.name}/acid-seen`)),
        150_000,
        250,
      );
      expect(got.type).to.equal('dev.pgfn.cluster.invalid');
      expect(got.data?.errors?.join(' ')).to.match(/both/);
    });

    /** The witness Trigger (applied again if present: idempotent), Ready. */
    const applyWitness = async (): Promise<void> => {
      const witnessTrigger = JSON.stringify({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name: `${name}-witness`, namespace: 'pgfn-system' },
        spec: {
          broker: 'pgfn',
          filters: [{ prefix: { type: 'dev.pgfn.cluster.' } }],
          subscriber: { uri: `http://127.0.0.1:${(witness.address() as AddressInfo).port}/` },
        },
      });
      await kubectlApply(witnessTrigger);
      const ready = await eventually('the witness Trigger Ready', async () => readyOf(`${name}-witness`), 120_000, 250);
      expect(ready.status, JSON.stringify(ready)).to.equal('True');
    };
    /** Deletes a Trigger and waits until neither path routes it any more. */
    const deleteTrigger = async (trigger: string): Promise<void> => {
      const uid = ((await custom.getNamespacedCustomObject({ ...TRIGGER, name: trigger })) as { metadata: { uid: string } }).metadata.uid;
      await kubectl('delete', '-n', 'pgfn-system', 'trigger', trigger);
      if (!knative) {
        await eventually(
          'the broker dropped the Trigger',
          () => Promise.resolve(pipeline.broker.triggerNames.includes(trigger) ? undefined : true),
          30_000,
        );
        return;
      }
      // Knative: its Subscription is gone and the channel no longer lists the Trigger's filter path.
      await eventually(
        "the Trigger's subscription gone from the channel",
        async () => {
          const subs = (await custom.listNamespacedCustomObject({
            group: 'messaging.knative.dev',
            version: 'v1',
            namespace: 'pgfn-system',
            plural: 'subscriptions',
          })) as { items: { metadata: { ownerReferences?: { uid: string }[] } }[] };
          const channels = (await custom.listNamespacedCustomObject({
            group: 'messaging.knative.dev',
            version: 'v1',
            namespace: 'pgfn-system',
            plural: 'inmemorychannels',
          })) as { items: { spec?: { subscribers?: { subscriberUri?: string }[] } }[] };
          const owned = subs.items.some((x) => (x.metadata.ownerReferences ?? []).some((r) => r.uid === uid));
          const listed = channels.items.some((c) => (c.spec?.subscribers ?? []).some((x) => (x.subscriberUri ?? '').includes(uid)));
          return owned || listed ? undefined : true;
        },
        120_000,
        250,
      );
    };

    it('kubectl delete: the events stop', async () => {
      await applyWitness();
      await deleteTrigger(name);
      await createInvalid('acid-unseen');
      const isUnseen = (a: Readonly<Record<string, string>>): boolean =>
        a['subject'] === `${ns.name}/acid-unseen` && a['type'] === 'dev.pgfn.cluster.invalid';
      // The event is routed (reconcile emitted it, the remaining Trigger delivered it) …
      await eventually(
        'dev.pgfn.cluster.invalid at the witness',
        () => Promise.resolve(witnessed.includes(`dev.pgfn.cluster.invalid ${ns.name}/acid-unseen`) ? true : undefined),
        150_000,
        250,
      );
      if (!knative) {
        await pipeline.broker.idle();
        expect(pipeline.broker.received().some((e) => isUnseen(e.attributes))).to.equal(true);
        expect(pipeline.broker.deliveries().filter((d) => d.trigger === name && d.subject === `${ns.name}/acid-unseen`)).to.deep.equal([]);
      }
      // … and nobody routes it to the deleted Trigger's subscriber.
      expect(displayed.filter((e) => e.subject === `${ns.name}/acid-unseen`)).to.deep.equal([]);
    });

    // Serving's activator starts a Service on its first request; here the function supervisor does, for
    // an image with a local equivalent (Knative's event_display → hack/event-display.ts), and writes the
    // status Serving would (its address), which Knative's own Trigger controller resolves the `ref` by.
    it('a Trigger naming a Knative Service a user applied: the supervisor starts it on its first event', async () => {
      const fn = userServiceFunction('pgfn-system', 'cluster-ready-notifier');
      const address = 'http://cluster-ready-notifier.pgfn-system.svc.cluster.local';
      const printed = (): Displayed[] =>
        readFileSync(join(logDir, `${fn}.log`), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Displayed);
      await kubectl('apply', '-f', join(repoRoot, 'knative/examples/cluster-ready-notifier.yaml'));
      // the Serving stand-in's status: Ready, with the address Serving gives a Service
      const svc = await eventually(
        "the Service's address",
        async () => {
          const s = (await custom.getNamespacedCustomObject({ ...SERVICE, name: 'cluster-ready-notifier' })) as ServiceStatus;
          return s.status?.address?.url === undefined ? undefined : s;
        },
        60_000,
        250,
      );
      expect(svc.status?.address?.url).to.equal(address);
      expect(svc.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
      // SubscriberUnavailable (stand-in) or resolving (Knative) until the Service is seen, then Ready.
      let last: Condition | undefined;
      await eventually(
        'the Trigger Ready',
        async () => {
          last = await readyOf('cluster-ready-notifier');
          return last?.status === 'True' ? last : undefined;
        },
        120_000,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(last)}`);
      });
      if (knative) {
        // Knative's Trigger controller resolved the ref by the status the stand-in wrote.
        const t = (await custom.getNamespacedCustomObject({ ...TRIGGER, name: 'cluster-ready-notifier' })) as {
          status?: { subscriberUri?: string };
        };
        expect(t.status?.subscriberUri).to.equal(address);
      }
      expect(pipeline.supervisor.coldStarts(fn)).to.deep.equal([]);
      await createInvalid('acid-notified');
      if (!knative) {
        const delivery = await eventually(
          'the delivery to the Service',
          () =>
            Promise.resolve(
              pipeline.broker.deliveries().find((d) => d.trigger === 'cluster-ready-notifier' && d.subject === `${ns.name}/acid-notified`),
            ),
          120_000,
          250,
        );
        expect(delivery.outcome).to.equal('delivered');
      }
      // what the Service's process printed: the event, as Knative's event_display would log it
      const got = await eventually(
        'the event printed by the Service',
        () =>
          Promise.resolve(
            pipeline.supervisor.coldStarts(fn).length > 0 ? printed().find((e) => e.subject === `${ns.name}/acid-notified`) : undefined,
          ),
        150_000,
        250,
      );
      expect(got.type).to.equal('dev.pgfn.cluster.invalid');
      expect(pipeline.supervisor.coldStarts(fn)).to.have.length(1);
      if (knative) expect(pipeline.broker.deliveries(), 'the stand-in routed nothing').to.deep.equal([]);
    });

    // A user's Service in their own namespace, the subscriber of a Trigger in the Broker's namespace (a
    // `ref` with its namespace): the Serving stand-in watches every namespace, so Knative (or the stand-in
    // broker) resolves it by the status written there, and the supervisor starts it on its first event.
    it("a Knative Service in the user's own namespace: started on its first event; deleting the Trigger stops its events", async () => {
      const service = 'team-notifier';
      const trigger = `${name}-team`;
      const fn = userServiceFunction(ns.name, service);
      const address = `http://${service}.${ns.name}.svc.cluster.local`;
      const printed = (): Displayed[] =>
        readFileSync(join(logDir, `${fn}.log`), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Displayed);
      await kubectlApply(
        JSON.stringify({
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          metadata: { name: service, namespace: ns.name },
          spec: { template: { spec: { containers: [{ image: 'gcr.io/knative-releases/knative.dev/eventing/cmd/event_display' }] } } },
        }),
      );
      await kubectlApply(
        JSON.stringify({
          apiVersion: 'eventing.knative.dev/v1',
          kind: 'Trigger',
          metadata: { name: trigger, namespace: 'pgfn-system' },
          spec: {
            broker: 'pgfn',
            filters: [{ prefix: { type: 'dev.pgfn.cluster.' } }],
            subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: service, namespace: ns.name } },
          },
        }),
      );
      const svc = await eventually(
        "the Service's address",
        async () => {
          const s = (await custom.getNamespacedCustomObject({ ...SERVICE, namespace: ns.name, name: service })) as ServiceStatus;
          return s.status?.address?.url === undefined ? undefined : s;
        },
        60_000,
        250,
      );
      expect(svc.status?.address?.url).to.equal(address);
      let last: Condition | undefined;
      await eventually(
        'the Trigger Ready',
        async () => {
          last = await readyOf(trigger);
          return last?.status === 'True' ? last : undefined;
        },
        120_000,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(last)}`);
      });
      if (knative) {
        const t = (await custom.getNamespacedCustomObject({ ...TRIGGER, name: trigger })) as { status?: { subscriberUri?: string } };
        expect(t.status?.subscriberUri).to.equal(address);
      }
      await createInvalid('acid-team');
      const got = await eventually(
        'the event printed by the Service in the user namespace',
        () =>
          Promise.resolve(
            pipeline.supervisor.coldStarts(fn).length > 0 ? printed().find((e) => e.subject === `${ns.name}/acid-team`) : undefined,
          ),
        150_000,
        250,
      );
      expect(got.type).to.equal('dev.pgfn.cluster.invalid');
      expect(pipeline.supervisor.coldStarts(fn)).to.have.length(1);
      // Removing the Trigger stops them: the witness gets the next event, the Service does not.
      await applyWitness();
      await deleteTrigger(trigger);
      await createInvalid('acid-team-gone');
      await eventually(
        'dev.pgfn.cluster.invalid at the witness',
        () => Promise.resolve(witnessed.includes(`dev.pgfn.cluster.invalid ${ns.name}/acid-team-gone`) ? true : undefined),
        150_000,
        250,
      );
      if (!knative) await pipeline.broker.idle();
      expect(printed().filter((e) => e.subject === `${ns.name}/acid-team-gone`)).to.deep.equal([]);
    });

    it('a Knative Service whose image cannot run here: Ready False with the reason, no address', async () => {
      const name = `no-local-image-${process.pid}`;
      await kubectlApply(
        JSON.stringify({
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          metadata: { name, namespace: 'pgfn-system' },
          spec: { template: { spec: { containers: [{ image: 'registry.example/someone/else:1' }] } } },
        }),
      );
      try {
        const svc = await eventually(
          'the Ready condition',
          async () => {
            const s = (await custom.getNamespacedCustomObject({ ...SERVICE, name })) as ServiceStatus;
            return s.status?.conditions?.find((c) => c.type === 'Ready') === undefined ? undefined : s;
          },
          60_000,
          250,
        );
        expect(svc.status?.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'NoLocalEquivalent' });
        expect(svc.status?.address ?? null).to.equal(null);
      } finally {
        await kubectl('delete', '--ignore-not-found', '-n', 'pgfn-system', 'services.serving.knative.dev', name);
      }
    });

    // knative/sinkbinding.yaml: on the Knative path Knative's own SinkBinding reconciler writes K_SINK into
    // every Service labelled pgfn.dev/emits-events, and the functions run with what it wrote (the events
    // above came from reconcile through it: no other K_SINK is given on that path).
    if (knative)
      it("Knative's SinkBinding reconciler binds the functions' Services: K_SINK is the Broker's address", async () => {
        const binding = (await custom.getNamespacedCustomObject({ ...SINKBINDING, name: 'pgfn-functions' })) as {
          status?: { sinkUri?: string; conditions?: Condition[] };
        };
        const brokerAddress = 'http://broker-ingress.knative-eventing.svc.cluster.local/pgfn-system/pgfn';
        expect(binding.status?.conditions?.find((c) => c.type === 'Ready')?.status, JSON.stringify(binding.status)).to.equal('True');
        expect(binding.status?.sinkUri).to.equal(brokerAddress);
        const reconcile = (await custom.getNamespacedCustomObject({ ...SERVICE, name: 'pgfn-reconcile' })) as {
          spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
          metadata: { managedFields?: { manager?: string }[] };
        };
        const env = reconcile.spec.template.spec.containers[0]?.env ?? [];
        expect(env.find((e) => e.name === 'K_SINK')?.value).to.equal(brokerAddress);
        // Written by Knative's reconciler (its JSON patch), not by our apply.
        expect(reconcile.metadata.managedFields?.map((f) => f.manager)).to.include('sinkbinding');
        // The function process gets it, the ingress's cluster name turned into its loopback address.
        expect(pipeline.supervisor.spec('reconcile')?.env?.['K_SINK']).to.equal(pipeline.brokerUrl);
      });

    // The stand-in runs Knative's webhook code on each Trigger it reads; Knative's controllers, like a
    // cluster without its webhook, would not.
    if (!knative)
      it("a Trigger Knative's webhook would refuse is stored (no webhook here) but not Ready, with Knative's message", async () => {
        await kubectlApply(refusedTrigger(port));
        const ready = await eventually('a Ready condition', async () => readyOf('refused-trigger'), 60_000, 250);
        expect(ready).to.include({ status: 'False', reason: 'WebhookRefused' });
        expect(ready.message).to.match(/invalid key name "Type"/);
        expect(pipeline.broker.triggerNames).to.not.include('refused-trigger');
      });

    // On the Knative path the API server calls Knative's webhooks, served locally (ADR 0105): an invalid
    // Trigger is refused at `kubectl apply` with Knative's message (nothing is stored for Knative's
    // controllers to act on), and a valid one is stored as Knative's defaulting leaves it.
    if (knative)
      it("Knative's webhooks: an invalid Trigger is refused at apply with Knative's message; a valid one is stored defaulted", async () => {
        const refused = await kubectlApply(refusedTrigger(port)).then(
          () => undefined,
          (err: Error) => err.message,
        );
        expect(refused, 'kubectl apply refused').to.be.a('string');
        expect(refused).to.match(/admission webhook "validation\.webhook\.eventing\.knative\.dev" denied the request/);
        expect(refused).to.match(/invalid key name "Type"/);
        const stored = await custom.getNamespacedCustomObject({ ...TRIGGER, name: 'refused-trigger' }).then(
          () => true,
          () => false,
        );
        expect(stored, 'the refused Trigger is not stored').to.equal(false);
        expect(pipeline.knative?.admission.answered.some((a) => a.name === 'refused-trigger' && !a.allowed)).to.equal(true);
        // cluster-ready-notifier.yaml's Trigger names its Service without a namespace: Knative's defaulting fills it in.
        await kubectl('apply', '-f', join(repoRoot, 'knative/examples/cluster-ready-notifier.yaml'));
        const t = (await custom.getNamespacedCustomObject({ ...TRIGGER, name: 'cluster-ready-notifier' })) as {
          metadata: { labels?: Record<string, string> };
          spec: { subscriber: { ref?: { namespace?: string } } };
        };
        expect(t.spec.subscriber.ref?.namespace).to.equal('pgfn-system');
        expect(t.metadata.labels?.['eventing.knative.dev/broker']).to.equal('pgfn');
      });
  });
}

/** A Trigger Knative's validation refuses (filter attribute names are lower-case). */
function refusedTrigger(port: number): string {
  return JSON.stringify({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'refused-trigger', namespace: 'pgfn-system' },
    spec: {
      broker: 'pgfn',
      filters: [{ exact: { Type: 'dev.pgfn.cluster.ready' } }],
      subscriber: { uri: `http://127.0.0.1:${port}/` },
    },
  });
}

async function kubectlApply(yaml: string): Promise<void> {
  await kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['apply', '-f', '-'], yaml);
}
