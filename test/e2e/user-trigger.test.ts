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
import { startPipeline, userServiceFunction, type Pipeline } from '@pgfn/pipeline';
import { ensureCrds } from '../crds/install.js';
import { identityForFunction, identityForServiceAccount } from '../support/fn-identity.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { kubectl } from '../knative/knative-crds.js';
import { example, onKwok } from '../reconcile/support.js';

const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const TRIGGER = { group: 'eventing.knative.dev', version: 'v1', namespace: 'pgfn-system', plural: 'triggers' };

interface Displayed {
  readonly type: string;
  readonly subject?: string;
  readonly data?: { readonly errors?: string[] };
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
      await kubectl('delete', '--ignore-not-found', '-n', 'pgfn-system', 'trigger', name, `${name}-witness`, 'refused-trigger').catch(
        () => '',
      );
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

    it('kubectl delete: the events stop', async () => {
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
      await kubectl('delete', '-n', 'pgfn-system', 'trigger', name);
      if (!knative)
        await eventually(
          'the broker dropped the Trigger',
          () => Promise.resolve(pipeline.broker.triggerNames.includes(name) ? undefined : true),
          30_000,
        );
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
    // an image with a local equivalent (Knative's event_display → hack/event-display.ts).
    if (!knative)
      it('a Trigger naming a Knative Service a user applied: the supervisor starts it on its first event', async () => {
        const fn = userServiceFunction('pgfn-system', 'cluster-ready-notifier');
        await kubectl('apply', '-f', join(repoRoot, 'knative/examples/cluster-ready-notifier.yaml'));
        // SubscriberUnavailable until the Service is seen (the file applies the Trigger first), then Ready.
        let last: Condition | undefined;
        await eventually(
          'the Trigger Ready',
          async () => {
            last = await readyOf('cluster-ready-notifier');
            return last?.status === 'True' ? last : undefined;
          },
          60_000,
          250,
        ).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(last)}`);
        });
        expect(pipeline.supervisor.coldStarts(fn)).to.deep.equal([]);
        await createInvalid('acid-notified');
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
        expect(pipeline.supervisor.coldStarts(fn)).to.have.length(1);
        // what the Service's process printed: the event, as Knative's event_display would log it
        const printed = readFileSync(join(logDir, `${fn}.log`), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Displayed);
        expect(printed.find((e) => e.subject === `${ns.name}/acid-notified`)?.type).to.equal('dev.pgfn.cluster.invalid');
      });

    // The stand-in runs Knative's webhook code on each Trigger it reads; Knative's controllers, like a
    // cluster without its webhook, do not.
    if (!knative)
      it("a Trigger Knative's webhook would refuse is stored (no webhook here) but not Ready, with Knative's message", async () => {
        await kubectlApply(
          JSON.stringify({
            apiVersion: 'eventing.knative.dev/v1',
            kind: 'Trigger',
            metadata: { name: 'refused-trigger', namespace: 'pgfn-system' },
            spec: {
              broker: 'pgfn',
              filters: [{ exact: { Type: 'dev.pgfn.cluster.ready' } }],
              subscriber: { uri: `http://127.0.0.1:${port}/` },
            },
          }),
        );
        const ready = await eventually('a Ready condition', async () => readyOf('refused-trigger'), 60_000, 250);
        expect(ready).to.include({ status: 'False', reason: 'WebhookRefused' });
        expect(ready.message).to.match(/invalid key name "Type"/);
        expect(pipeline.broker.triggerNames).to.not.include('refused-trigger');
      });
  });
}

async function kubectlApply(yaml: string): Promise<void> {
  await kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['apply', '-f', '-'], yaml);
}
