// Every manifest we ship, validated by a real apiserver that knows Knative's CRDs: a server-side dry run
// runs schema validation, defaulting and RBAC escalation checks, and stores nothing.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { binaries, kubectlRun, repoRoot } from '@pgfn/controlplane';
import { loadKustomization } from '@pgfn/pipeline';
import { ensureCrds } from '../crds/install.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { ensureKnativeCrds, ensureNamespace, kubectl } from './knative-crds.js';

const DRY_RUN = ['apply', '--server-side', '--force-conflicts', '--field-manager=pgfn-test-dry-run', '--dry-run=server'];

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return f.endsWith('.yaml') && !f.startsWith('kustomization') ? [path] : [];
    })
    .sort();
}

/** How kubectl names an applied object: `<kind>.<group>/<name>`, or `<kind>/<name>` for the core group. */
function printed(o: { apiVersion: string; kind: string; metadata: { name: string } }): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${o.kind.toLowerCase()}${group === '' ? '' : `.${group}`}/${o.metadata.name}`;
}

describe('knative/ and crds/ pass a server-side dry run', function () {
  this.timeout(180_000);
  let examplesNs: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    await Promise.all([ensureKnativeCrds(), ensureCrds(adminConfig()), ensureNamespace('pgfn-system')]);
    examplesNs = await createNamespace(adminConfig(), 'dry-run');
  });
  after(async () => examplesNs.cleanup());

  it('applies the whole kustomization: kubectl apply --server-side --dry-run=server -k knative/', async () => {
    const out = await kubectl(...DRY_RUN, '-k', join(repoRoot, 'knative'));
    for (const o of loadKustomization()) expect(out, printed(o)).to.include(`${printed(o)} serverside-applied (server dry run)`);
  });

  const files = [...yamlFiles(join(repoRoot, 'knative')), ...yamlFiles(join(repoRoot, 'crds'))];
  for (const file of files) {
    const rel = relative(repoRoot, file);
    it(`${rel}`, async () => {
      // crds/examples are namespace-less postgresql manifests a user applies into their namespace
      const ns = rel.startsWith('crds/examples/') ? ['-n', examplesNs.name] : [];
      const out = await kubectl(...DRY_RUN, ...ns, '-f', file);
      expect(out).to.match(/serverside-applied \(server dry run\)/);
    });
  }

  it('is a real check: a Trigger the Knative schema forbids is refused', async () => {
    const bad = JSON.stringify({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'bad', namespace: 'pgfn-system' },
      spec: { broker: 'pgfn', delivery: { retry: 'many' }, subscriber: { uri: 'http://x' } },
    });
    const refused = await kubectlRun(binaries().kubectl, testEnv().kubeconfig, [...DRY_RUN, '-f', '-'], bad).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(refused).to.match(/\.spec\.delivery\.retry: expected numeric/);
  });
});
