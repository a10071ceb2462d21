// `npm run render … | kubectl apply -f -` against the real API server (server-side dry run): kubectl
// reads YAML as 1.1, so an unquoted yes/on/NO or date would arrive as a boolean or a timestamp and be
// refused or changed. The values must arrive as the strings the manifest holds.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { binaries, repoRoot } from '@pgfn/controlplane';
import { expect } from 'chai';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace } from '../support/kube.js';

const MANIFEST = `apiVersion: acid.zalan.do/v1
kind: postgresql
metadata:
  name: acid-yaml11
spec:
  teamId: acid
  numberOfInstances: 1
  postgresql:
    version: "17"
  volume:
    size: 1Gi
  podAnnotations:
    example.com/enabled: "yes"
    example.com/since: "2026-01-01"
    example.com/when: "2026-01-01T10:00:00Z"
  serviceAnnotations:
    example.com/public: "off"
  env:
    - name: FLAG_ON
      value: "on"
    - name: FLAG_NO
      value: "NO"
    - name: FLAG_Y
      value: "y"
    - name: MODE
      value: "0777"
    - name: SIXTY
      value: "1:30"
`;

describe('render piped into kubectl apply (real API server, server-side dry run)', function () {
  this.timeout(120_000);
  let ns: { name: string; cleanup: () => Promise<void> };
  before(async () => {
    ns = await createNamespace(adminConfig(), 'render');
  });
  after(() => ns.cleanup());

  it('delivers yes/no/on/off, dates, octal- and sexagesimal-looking values as strings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-render-'));
    const manifest = join(dir, 'pg.yaml');
    writeFileSync(manifest, MANIFEST);
    const render = `node --import tsx ${join(repoRoot, 'shared/builder/src/render-cli.ts')} -f ${manifest} -n ${ns.name}`;
    const kubectl = `${binaries().kubectl} --kubeconfig=${testEnv().kubeconfig} apply --server-side --dry-run=server -f - -o json`;
    const { stdout } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', `${render} | ${kubectl}`], {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
    });
    const parsed = JSON.parse(stdout) as { kind: string; items?: KubernetesObject[] } & KubernetesObject;
    const items = parsed.kind === 'List' ? (parsed.items ?? []) : [parsed];
    const sts: V1StatefulSet | undefined = items.find((o) => o.kind === 'StatefulSet');
    expect(sts, 'the StatefulSet was applied').to.not.equal(undefined);
    expect(sts?.spec?.template.metadata?.annotations).to.include({
      'example.com/enabled': 'yes',
      'example.com/since': '2026-01-01',
      'example.com/when': '2026-01-01T10:00:00Z',
    });
    expect(sts?.spec?.template.spec?.containers[0]?.env).to.deep.include.members([
      { name: 'FLAG_ON', value: 'on' },
      { name: 'FLAG_NO', value: 'NO' },
      { name: 'FLAG_Y', value: 'y' },
      { name: 'MODE', value: '0777' },
      { name: 'SIXTY', value: '1:30' },
    ]);
    const master = items.find((o) => o.kind === 'Service' && o.metadata?.name === 'acid-yaml11');
    expect(master?.metadata?.annotations).to.include({ 'example.com/public': 'off' });
  });
});
