// Knative Eventing's own controllers (eventing, mt-broker, in-memory channel) as local processes,
// reconciling the Broker, Triggers and PingSources of knative/ after Knative's defaulting, and its data
// plane (ingress, channel dispatcher, filter, PingSource adapter) carrying events (issue 23).
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { expect } from 'chai';
import {
  deleteTriggers,
  KnativeControllers,
  KnativeDataPlane,
  applyObjects,
  defaultedOrThrow,
  loadKustomization,
  ofKind,
  publishServices,
  type KubeObject,
  type Manifest,
} from '@pgfn/pipeline';
import { testEnv } from '../support/env.js';
import { adminConfig, eventually } from '../support/kube.js';

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}
type Knative = { status?: { conditions?: Condition[]; address?: { url?: string } } };

describe("Knative Eventing's own controllers reconcile knative/", function () {
  this.timeout(240_000);
  let controllers: KnativeControllers;
  let dataPlane: KnativeDataPlane;
  let custom: k8s.CustomObjectsApi;
  let receiver: Server;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const dead = (): void => {
    const problem = controllers.check() ?? dataPlane?.check();
    if (problem !== undefined) throw new Error(problem);
  };

  before(async () => {
    custom = adminConfig().makeApiClient(k8s.CustomObjectsApi);
    const logDir = mkdtempSync(join(tmpdir(), 'pgfn-knative-'));
    controllers = await KnativeControllers.start({ kubeconfig: testEnv().kubeconfig, logDir });
    dataPlane = await KnativeDataPlane.start({ kubeconfig: testEnv().kubeconfig, logDir });
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  });
  after(async () => {
    // The API server is shared with the test files that follow: this file's Triggers go again, with
    // their Subscriptions, one at a time, while Knative's controllers still run to take them off the
    // channel (ADR 0151).
    await deleteTriggers(
      testEnv().kubeconfig,
      ['knative-path', 'knative-path-ping'].map((name) => ({ namespace: 'pgfn-system', name })),
    );
    await kubectlRun(binaries().kubectl, testEnv().kubeconfig, [
      'delete',
      '--ignore-not-found',
      '--wait=false',
      '-n',
      'pgfn-system',
      'pingsource',
      'knative-path-ping',
    ]).catch(() => '');
    receiver?.close();
    await dataPlane?.stop();
    await controllers?.stop();
  });
  const condition = async (plural: string, name: string, group = 'eventing.knative.dev'): Promise<Condition | undefined> => {
    const o = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'pgfn-system',
      plural,
      name,
    })) as Knative;
    return o.status?.conditions?.find((x) => x.type === 'Ready');
  };

  it('makes the Broker Ready with its address', async () => {
    let last = '';
    const manifests = loadKustomization();
    const [namespace, ...services] = (await defaultedOrThrow([
      ...manifests.filter((m) => m.kind === 'Namespace'),
      ...ofKind<Manifest>(manifests, 'serving.knative.dev', 'Service'),
    ])) as KubeObject[];
    await applyObjects(testEnv().kubeconfig, [namespace as KubeObject]);
    await publishServices(testEnv().kubeconfig, services);
    await applyObjects(testEnv().kubeconfig, await defaultedOrThrow(ofKind<Manifest>(manifests, 'eventing.knative.dev', 'Broker')));
    const ready = await eventually(
      'the Broker Ready',
      async () => {
        const b = (await custom.getNamespacedCustomObject({
          group: 'eventing.knative.dev',
          version: 'v1',
          namespace: 'pgfn-system',
          plural: 'brokers',
          name: 'pgfn',
        })) as Knative;
        dead();
        const c = b.status?.conditions?.find((x) => x.type === 'Ready');
        last = JSON.stringify(b.status?.conditions);
        return c?.status === 'True' ? b : undefined;
      },
      120_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${last}`);
    });
    expect(ready.status?.address?.url).to.equal('http://broker-ingress.knative-eventing.svc.cluster.local/pgfn-system/pgfn');
  });

  it("delivers an event from the Broker's ingress through Knative's channel and filter to a Trigger's subscriber", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const trigger = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'knative-path', namespace: 'pgfn-system' },
      spec: { broker: 'pgfn', filters: [{ prefix: { type: 'dev.pgfn.' } }], subscriber: { uri: `http://127.0.0.1:${port}/` } },
    };
    await applyObjects(testEnv().kubeconfig, await defaultedOrThrow([trigger]));
    let last: Condition | undefined;
    await eventually(
      'the Trigger Ready',
      async () => {
        dead();
        last = await condition('triggers', 'knative-path');
        return last?.status === 'True' ? true : undefined;
      },
      120_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    const post = async (type: string, id: string): Promise<number> =>
      (
        await fetch(`${dataPlane.ingressUrl}/pgfn-system/pgfn`, {
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': id,
            'ce-source': 'test',
            'ce-type': type,
            'ce-subject': 'ns/acid-x',
            'content-type': 'application/json',
          },
          body: JSON.stringify({ namespace: 'ns', name: 'acid-x' }),
        })
      ).status;
    expect(await post('dev.pgfn.cluster.ready', 'through-knative-1')).to.equal(202);
    expect(await post('dev.knative.sources.ping', 'filtered-out-1')).to.equal(202);
    const got = await eventually(
      'the event at the subscriber',
      () => Promise.resolve(received.find((r) => r.headers['ce-id'] === 'through-knative-1')),
      60_000,
      100,
    );
    expect(got.headers['ce-type']).to.equal('dev.pgfn.cluster.ready');
    expect(JSON.parse(got.body)).to.deep.equal({ namespace: 'ns', name: 'acid-x' });
    expect(received.map((r) => r.headers['ce-id'])).to.not.include('filtered-out-1');
  });

  it("makes a PingSource Ready; Knative's adapter (mtping) fires it through ingress, channel and filter to a subscriber", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const source = '/apis/v1/namespaces/pgfn-system/pingsources/knative-path-ping';
    const objects = [
      {
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name: 'knative-path-ping', namespace: 'pgfn-system' },
        spec: { broker: 'pgfn', filters: [{ exact: { source } }], subscriber: { uri: `http://127.0.0.1:${port}/` } },
      },
      {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'PingSource',
        metadata: { name: 'knative-path-ping', namespace: 'pgfn-system' },
        // six fields: Knative's schedules take optional seconds; every 2 s keeps the test short
        spec: {
          schedule: '*/2 * * * * *',
          contentType: 'application/json',
          data: '{"task":"knative-path"}',
          sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'pgfn' } },
        },
      },
    ];
    await applyObjects(testEnv().kubeconfig, await defaultedOrThrow(objects));
    for (const [plural, group] of [
      ['triggers', 'eventing.knative.dev'],
      ['pingsources', 'sources.knative.dev'],
    ] as const) {
      let last: Condition | undefined;
      await eventually(
        `the ${plural} Ready`,
        async () => {
          dead();
          last = await condition(plural, 'knative-path-ping', group);
          return last?.status === 'True' ? true : undefined;
        },
        120_000,
        500,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(last)}`);
      });
    }
    const got = await eventually(
      'a ping at the subscriber',
      () => Promise.resolve(received.find((r) => r.headers['ce-source'] === source)),
      90_000,
      250,
    );
    expect(got.headers['ce-type']).to.equal('dev.knative.sources.ping');
    expect(JSON.parse(got.body)).to.deep.equal({ task: 'knative-path' });
  });

  it("replaces a placeholder pod left not Ready (kwok after a missed heartbeat): Knative's PingSource Ready again", async () => {
    const core = adminConfig().makeApiClient(k8s.CoreV1Api);
    const pods = async (): Promise<k8s.V1Pod[]> =>
      (await core.listNamespacedPod({ namespace: 'knative-eventing', labelSelector: 'app=pingsource-mt-adapter' })).items;
    const [before] = await pods();
    const name = before?.metadata?.name ?? '';
    expect(name).to.not.equal('');
    // what the node lifecycle controller does to a NotReady node's pods
    await kubectlRun(binaries().kubectl, testEnv().kubeconfig, [
      'patch',
      'pod',
      name,
      '-n',
      'knative-eventing',
      '--subresource=status',
      '--type=strategic',
      '-p',
      JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'NodeNotReady' }] } }),
    ]);
    await eventually(
      'a new placeholder pod Ready',
      async () => {
        const now = await pods();
        const ready = now.some(
          (p) => p.metadata?.name !== name && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready && !now.some((p) => p.metadata?.name === name) ? true : undefined;
      },
      120_000,
      500,
    );
    let last: Condition | undefined;
    await eventually(
      'the PingSource Ready',
      async () => {
        dead();
        last = await condition('pingsources', 'knative-path-ping', 'sources.knative.dev');
        return last?.status === 'True' ? true : undefined;
      },
      120_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
  });
});
