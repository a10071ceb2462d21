// Installing our CRDs on the shared test control plane. CRDs are cluster-scoped and several test files
// may install them at the same time, so installation is a forced server-side apply under one field
// manager: applying the same files twice, or concurrently, converges to the same object. Tests never
// delete them.
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../support/kube.js';
import { CRD_FILES, readCrd } from './crd-files.js';

const FIELD_MANAGER = 'pgfn-test-crds';

/** Applies the three acid.zalan.do CRDs and waits until the apiserver serves each of them. */
export async function ensureCrds(kc: k8s.KubeConfig): Promise<k8s.V1CustomResourceDefinition[]> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const applyPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
  const crds = CRD_FILES.map(readCrd);
  await Promise.all(
    crds.map((crd) =>
      ext.patchCustomResourceDefinition(
        { name: crd.metadata?.name ?? '', body: crd, fieldManager: FIELD_MANAGER, force: true },
        applyPatch,
      ),
    ),
  );
  return Promise.all(
    crds.map((crd) =>
      eventually(`CRD ${crd.metadata?.name} Established`, async () => {
        const live = await ext.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
        const established = live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
        return established === true ? live : undefined;
      }),
    ),
  );
}

/** Applies upstream's optional FabricEventStream CRD (crds/fabriceventstream.crd.yaml) and waits until it is served. */
export async function ensureFesCrd(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const applyPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
  const crd = readCrd('fabriceventstream.crd.yaml');
  const name = crd.metadata?.name ?? '';
  await ext.patchCustomResourceDefinition({ name, body: crd, fieldManager: FIELD_MANAGER, force: true }, applyPatch);
  await eventually(`CRD ${name} Established`, async () => {
    const live = await ext.readCustomResourceDefinition({ name });
    return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true ? live : undefined;
  });
}
