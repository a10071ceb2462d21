import { resolve } from 'node:path';
import { expect } from 'chai';
import { codeNames, fileLanes, HEAVY, isHeavyFile } from './heavy-files.js';

const heavyNames = (text: string): string[] => [...codeNames('x.ts', text).names].filter((n) => HEAVY.has(n)).sort();

describe('heavy files (ADR 0090, 0140): what the code starts, not what the prose says', () => {
  it('finds heavy parts named in code: a call, a class, Class.method, an options key given an object', () => {
    expect(heavyNames('const agent = await startNodeAgent({ dir });')).to.deep.equal(['startNodeAgent']);
    expect(heavyNames("import { Prometheus } from '@pgfn/observe';")).to.deep.equal(['Prometheus']);
    expect(heavyNames('const cp = await ControlPlane.start({ dataDir });')).to.deep.equal(['ControlPlane.start']);
    expect(heavyNames('start({ ...(k ? { knative: { kubeconfig } } : {}) });')).to.deep.equal(['knative: {']);
  });

  it('ignores the names in comments, strings and test titles', () => {
    const prose = [
      '// runs every query against a real Prometheus',
      '/** startNodeAgent would be heavy; ControlPlane.start too */',
      "it('serves Prometheus /metrics', () => { const s = 'launchBrowser'; const t = `S3Server ${1}`; });",
      'const knative = true; const opts = { knative: false };',
    ].join('\n');
    expect(heavyNames(prose)).to.deep.equal([]);
  });

  it('follows local imports: a file is heavy when a module it imports starts a heavy part', () => {
    const here = resolve(process.cwd(), 'test');
    const { localImports } = codeNames(
      'x.ts',
      "import { a } from './a.js';\nimport type { B } from '../b.js';\nimport { c } from '@pgfn/c';",
    );
    expect(localImports).to.deep.equal(['./a.js', '../b.js']);
    // bench/lib/operator-config.ts names the bench namespace without importing the stack that starts a control plane;
    // the differential is heavy for Zalando's operator it starts, not for that import.
    expect(isHeavyFile(resolve(here, 'api/defaults.test.ts'))).to.equal(false);
    expect(isHeavyFile(resolve(here, 'differential/upstream.test.ts'))).to.equal(true);
    expect(isHeavyFile(resolve(here, 'monitoring/rules.test.ts'))).to.equal(false);
    expect(isHeavyFile(resolve(here, 'monitoring/prometheus.test.ts'))).to.equal(true);
    expect(isHeavyFile(resolve(here, 'node-agent/cluster.test.ts'))).to.equal(true);
    expect(isHeavyFile(resolve(process.cwd(), 'bench/convergence.ts'))).to.equal(true);
  });

  it('gives each heavy file the lanes of the parts it starts (ADR 0144); a light file none', () => {
    const lanes = (f: string): readonly string[] => fileLanes(resolve(process.cwd(), 'test', f));
    expect(lanes('node-agent/cluster.test.ts')).to.deep.equal(['nodes']);
    expect(lanes('e2e/user-trigger.test.ts')).to.deep.equal(['knative']);
    expect(lanes('monitoring/prometheus.test.ts')).to.deep.equal(['misc']);
    // A private control plane takes the misc lane; with a node agent of its own, a nodes slot too (ADR 0147).
    expect(lanes('controlplane/lifecycle.test.ts')).to.deep.equal(['misc']);
    expect(lanes('reliability/control-plane-outage.test.ts')).to.deep.equal(['misc']);
    // … except the rollout outage file, which keeps every lane (FILE_LANES: it failed once beside the Knative e2e file).
    expect(lanes('reliability/control-plane-outage-rollout.test.ts')).to.deep.equal(['knative:all', 'misc:all', 'nodes:all']);
    // Zalando's operator takes the misc lane (ADR 0147); the measured faults keep every other node-agent file away.
    expect(lanes('differential/upstream.test.ts')).to.deep.equal(['misc']);
    expect(lanes('reliability/failover-safety.test.ts')).to.deep.equal(['nodes:all']);
    // An S3 server alone takes no lane: a small process on a free port with a directory of its own.
    expect(lanes('backup-verify/scale.test.ts')).to.deep.equal([]);
    expect(lanes('api/defaults.test.ts')).to.deep.equal([]);
  });
});
