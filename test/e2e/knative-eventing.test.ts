// Knative Eventing's own controllers (eventing, mt-broker, in-memory channel) as local processes,
// reconciling the Broker and Triggers of knative/ after Knative's defaulting (issue 23).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import {
  KnativeControllers,
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
  let custom: k8s.CustomObjectsApi;

  before(async () => {
    custom = adminConfig().makeApiClient(k8s.CustomObjectsApi);
    controllers = await KnativeControllers.start({
      kubeconfig: testEnv().kubeconfig,
      logDir: mkdtempSync(join(tmpdir(), 'pgfn-knative-')),
    });
  });
  after(async () => controllers?.stop());

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
        const dead = controllers.check();
        if (dead !== undefined) throw new Error(dead);
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
});
