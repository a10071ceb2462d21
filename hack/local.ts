// npm run local: the whole local stack on this machine. Today: the control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok) with pgfn's CRDs and a sample
// cluster applied. Later issues add the event pipeline, the functions and the Spilo node agent.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { binaries, readClusterState, repoRoot } from '@pgfn/controlplane';

const kubectl = binaries().kubectl;
execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'shared/controlplane/src/cli.ts'), 'up'], { stdio: 'inherit' });
const state = readClusterState();
if (state === undefined) throw new Error('control plane state missing after `cluster up`');
const k = (...args: string[]): string =>
  execFileSync(kubectl, [`--kubeconfig=${state.kubeconfig}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const crds = readdirSync(join(repoRoot, 'crds')).filter((f) => f.endsWith('.crd.yaml')).map((f) => join(repoRoot, 'crds', f));
for (const crd of crds) process.stdout.write(k('apply', '--server-side', '--field-manager=pgfn', '-f', crd));
// `kubectl wait` errors out until the CRD has a status at all: retry briefly.
for (const crd of crds) {
  for (let attempt = 1; ; attempt++) {
    try {
      k('wait', '--for=condition=Established', '--timeout=60s', '-f', crd);
      break;
    } catch (err) {
      if (attempt >= 20) throw err;
      execFileSync('sleep', ['0.5']);
    }
  }
}
const sample = join(repoRoot, 'crds/examples/minimal.yaml');
if (existsSync(sample)) process.stdout.write(k('apply', '--server-side', '--field-manager=pgfn', '-n', 'default', '-f', sample));

console.log(`
pgfn local stack is up.
  export KUBECONFIG=${state.kubeconfig}
  ${kubectl} get postgresqls -A
  npm run cluster -- status      # components, pids, logs (${state.logDir})
  npm run cluster -- down        # stop everything
`);
