import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Postgresql } from '@pgfn/api';
import { startPipeline, type Pipeline } from '@pgfn/pipeline';
import { ensureCrds } from '../crds/install.js';
import { identityForFunction, identityForServiceAccount } from '../support/fn-identity.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually, statusOf } from '../support/kube.js';
import { explained } from '../support/pipeline-logs.js';
import { kwokPodsRunning } from '../support/volumes.js';
import { example, labelLikePatroni, onKwok } from '../reconcile/support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/**
 * The whole event path as shipped: the real Knative receive adapter watching the API server as the
 * ApiServerSource's ServiceAccount, the local broker routing by our Trigger manifests, and the
 * reconcile function as its own process acting as its own ServiceAccount (only its ClusterRole).
 * The test only talks to the API server, like a user with kubectl.
 */
// Both paths run the same cases: the stand-in broker (the default) and Knative Eventing's own
// controllers and data plane (issue 23), so any difference between our reading of Knative and Knative
// fails here.
for (const path of ['stand-in broker', "Knative's own broker"] as const) {
  describe(`end to end (${path}): kubectl apply → ApiServerSource → Broker → reconcile`, function () {
    this.timeout(420_000);
    let kc: k8s.KubeConfig;
    let custom: k8s.CustomObjectsApi;
    let apps: k8s.AppsV1Api;
    let core: k8s.CoreV1Api;
    let ns: { name: string; cleanup: () => Promise<void> };
    let pipeline: Pipeline;
    let logDir = '';
    // A subscriber that always fails, for the dead-letter case.
    let failing: Server;
    const failed: string[] = [];

    before(async () => {
      failing = createServer((req, res) => {
        failed.push(String(req.headers['ce-id']));
        req.resume();
        res.writeHead(503).end('always failing');
      });
      await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', () => resolve()));
      kc = adminConfig();
      custom = kc.makeApiClient(k8s.CustomObjectsApi);
      apps = kc.makeApiClient(k8s.AppsV1Api);
      core = kc.makeApiClient(k8s.CoreV1Api);
      await ensureCrds(kc); // before the adapters start: they resolve resources once
      ns = await createNamespace(kc, path === 'stand-in broker' ? 'e2e' : 'e2e-knative');
      logDir = mkdtempSync(join(tmpdir(), 'pgfn-e2e-'));
      const fn = await identityForFunction('reconcile');
      const source = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system');
      pipeline = await startPipeline({
        kubeconfig: fn.file,
        adapterKubeconfig: source.file,
        logDir,
        // Resyncs stay in this test's namespace; other files' clusters are not ours to touch.
        // Debug: each event's outcome is logged, for the diagnosis a failure carries.
        functions: { reconcile: { env: { WATCHED_NAMESPACE: ns.name, LOG_LEVEL: 'debug' } } },
        schedulePings: false,
        idleMs: 120_000,
        extraTriggers: [
          {
            apiVersion: 'eventing.knative.dev/v1',
            kind: 'Trigger',
            metadata: { name: 'e2e-always-failing', namespace: 'pgfn-system' },
            spec: {
              broker: 'pgfn',
              filters: [{ exact: { type: 'dev.pgfn.e2e.deadletter' } }],
              subscriber: { uri: `http://127.0.0.1:${(failing.address() as AddressInfo).port}/` },
              delivery: {
                retry: 2,
                backoffPolicy: 'linear',
                backoffDelay: 'PT0.1S',
                deadLetterSink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'pgfn-dead-letter' } },
              },
            },
          },
        ],
        ...(path === "Knative's own broker" ? { knative: { kubeconfig: testEnv().kubeconfig } } : {}),
      });
    });
    after(async () => {
      await pipeline?.stop();
      failing?.close();
      await ns?.cleanup();
    });

    const read = async (name: string): Promise<Cluster | undefined> =>
      custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name }).then(
        (c) => c as Cluster,
        (e: unknown) => {
          if (statusOf(e) === 404) return undefined;
          throw e;
        },
      );
    const edit = async (name: string, change: (spec: Cluster['spec']) => Cluster['spec']): Promise<void> => {
      const cur = await read(name);
      if (cur === undefined) throw new Error(`${name} is gone`);
      await custom.replaceNamespacedCustomObject({ ...PG, namespace: ns.name, name, body: { ...cur, spec: change(cur.spec) } });
    };
    const replicas = async (name: string): Promise<number | undefined> =>
      apps.readNamespacedStatefulSet({ namespace: ns.name, name }).then(
        (s) => s.spec?.replicas,
        () => undefined,
      );

    it(
      'creates a cluster from an applied manifest and reports Running once Patroni labels the pods',
      explained(
        () => logDir,
        async () => {
          await custom.createNamespacedCustomObject({
            ...PG,
            namespace: ns.name,
            body: onKwok(example('minimal.yaml', ns.name, 'acid-e2e')),
          });
          await eventually('the StatefulSet', async () => replicas('acid-e2e'), 60_000, 250);
          await eventually('2 Running pods', () => kwokPodsRunning(kc, ns.name, 'cluster-name=acid-e2e', 2), 180_000);
          // Patroni's label changes are Pod events; they reach reconcile through the spilo-pod source.
          await labelLikePatroni(kc, ns.name, 'acid-e2e');
          const running = await eventually(
            'status Running',
            async () => {
              const c = await read('acid-e2e');
              return c?.status?.PostgresClusterStatus === 'Running' ? c : undefined;
            },
            180_000,
            500,
          );
          expect(running.status?.conditions?.find((c) => c.type === 'PodsReady')?.status).to.equal('True');
          const cold = pipeline.supervisor.coldStarts();
          expect(cold.length, 'the function was started on its first event').to.be.greaterThan(0);
          if (path === "Knative's own broker") {
            // Knative carried every event: its controller configured the adapters, the stand-in routed nothing.
            const ingress = 'http://broker-ingress.knative-eventing.svc.cluster.local/pgfn-system/pgfn';
            expect(pipeline.adapters.map((a) => a.sink)).to.deep.equal(pipeline.adapters.map(() => ingress));
            expect(pipeline.broker.deliveries()).to.deep.equal([]);
          }
        },
      ),
    );

    it(
      'follows an update',
      explained(
        () => logDir,
        async () => {
          await edit('acid-e2e', (spec) => ({ ...spec, numberOfInstances: 3 }));
          await eventually('3 replicas', async () => ((await replicas('acid-e2e')) === 3 ? true : undefined), 60_000, 250);
          // Let the third pod come up and the status settle, so no pod churn is left for the next test.
          await eventually('3 Running pods', () => kwokPodsRunning(kc, ns.name, 'cluster-name=acid-e2e', 3), 180_000);
          await labelLikePatroni(kc, ns.name, 'acid-e2e');
          await eventually(
            'status Running with 3 pods',
            async () => {
              const c = await read('acid-e2e');
              return c?.status?.PostgresClusterStatus === 'Running' &&
                /^3\/3 pods ready/.test(c.status.conditions?.find((x) => x.type === 'PodsReady')?.message ?? '')
                ? true
                : undefined;
            },
            180_000,
            500,
          );
        },
      ),
    );

    it(
      'repairs what happened while the adapter was down, on the next resync',
      explained(
        () => logDir,
        async () => {
          // Every source down: Pod and StatefulSet events would otherwise make reconcile re-read the CR.
          for (const a of pipeline.adapters) await a.kill();
          // Let events already on their way (the scale-up's pod churn) be delivered first.
          await pipeline.broker.idle();
          await edit('acid-e2e', (spec) => ({ ...spec, numberOfInstances: 1 }));
          await custom.createNamespacedCustomObject({
            ...PG,
            namespace: ns.name,
            body: onKwok(example('minimal.yaml', ns.name, 'acid-missed')),
          });
          for (const a of pipeline.adapters) await a.restart();
          // The adapter's re-list sends nothing for changes made while it was down; the resync must.
          await new Promise((r) => setTimeout(r, 2000));
          // acid-missed has no pods, so nothing but the CR's own (lost) event could have built it. (acid-e2e's
          // late pod updates may legitimately reach reconcile after the restart and apply its edit early.)
          expect(await replicas('acid-missed'), 'no event reached reconcile for the new cluster').to.equal(undefined);
          pipeline.pings.fire('pgfn-resync');
          await eventually(
            'both changes repaired by the resync',
            async () => ((await replicas('acid-e2e')) === 1 && (await replicas('acid-missed')) === 2 ? true : undefined),
            60_000,
            250,
          );
        },
      ),
    );

    it(
      'deletes a cluster through the finalizer',
      explained(
        () => logDir,
        async () => {
          await custom.deleteNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-missed' });
          await eventually(
            'the CR released and its objects gone',
            async () => {
              const gone = (await read('acid-missed')) === undefined && (await replicas('acid-missed')) === undefined;
              const secrets = (await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-missed' })).items;
              return gone && secrets.length === 0 ? true : undefined;
            },
            180_000,
            500,
          );
        },
      ),
    );

    it(
      'dead-letters an event after the last retry, with the knativeerror* extensions',
      explained(
        () => logDir,
        async () => {
          const res = await fetch(pipeline.brokerUrl, {
            method: 'POST',
            headers: { 'ce-specversion': '1.0', 'ce-id': `dl-${path.length}`, 'ce-source': 'e2e', 'ce-type': 'dev.pgfn.e2e.deadletter' },
            body: '',
          });
          expect(res.status).to.equal(202);
          const dead = await eventually(
            'the dead letter',
            () => Promise.resolve(pipeline.broker.deadLetters().find((e) => e.attributes['id'] === `dl-${path.length}`)),
            60_000,
            100,
          );
          expect(dead.attributes['knativeerrorcode']).to.equal('503');
          expect(Buffer.from(dead.attributes['knativeerrordata'] ?? '', 'base64').toString('utf8')).to.equal('always failing');
          expect(
            failed.filter((id) => id === `dl-${path.length}`),
            'the first attempt and two retries',
          ).to.have.length(3);
        },
      ),
    );
  });
}
