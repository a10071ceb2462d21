// `kubectl exec` into node-agent pods for real: the real kubectl → the API server (pods/exec) → the
// agent Node's kubelet endpoint (kubelet's own streaming code) → the command inside the container's
// sandbox (its mount, PID and UTS namespaces) with the container's environment.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { binaries } from '@pgfn/controlplane';
import { applySpiloCluster } from '@pgfn/node-agent/testing';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { sandboxNamespaces, startTestAgent, waitForRoles, type TestAgent } from './support.js';

const run = promisify(execFile);

describe('node agent: kubectl exec into a Spilo pod', function () {
  this.timeout(600_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;
  let pod: string;

  const kubectlExec = async (...command: string[]): Promise<string> => {
    const { stdout } = await run(binaries().kubectl, [
      `--kubeconfig=${testEnv().kubeconfig}`,
      'exec',
      '-n',
      ns.name,
      pod,
      '--',
      ...command,
    ]);
    return stdout;
  };

  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'na-exec');
    t = await startTestAgent('pgfn-agent-exec');
    const cluster = await applySpiloCluster(kc, { namespace: ns.name, name: 'acid-exec', instances: 1, version: '16' });
    pod = (await waitForRoles(kc, ns.name, cluster.name, { replicas: 0, timeoutMs: 240_000 })).master.name;
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  it('runs psql as postgres over the pod’s own socket', async () => {
    expect(await kubectlExec('psql', '-U', 'postgres', '-tAc', 'select 1')).to.equal('1\n');
    expect(await kubectlExec('psql', '-U', 'postgres', '-tAc', 'show server_version_num')).to.match(/^16\d{4}\n$/);
  });

  it('runs in the container’s sandbox: its PID namespace and host name', async () => {
    const pidNs = (await kubectlExec('readlink', '/proc/self/ns/pid')).trim();
    expect(sandboxNamespaces(t.agent.processGroups())).to.include(pidNs);
    expect((await kubectlExec('hostname')).trim()).to.equal(pod);
  });

  it('has the container’s environment, with the major’s programs first on PATH', async () => {
    const out = await kubectlExec('sh', '-c', 'echo "$SCOPE $PGVERSION $PGROOT"; command -v pg_upgrade');
    expect(out).to.equal('acid-exec 16 /home/postgres/pgdata/pgroot\n/usr/lib/postgresql/16/bin/pg_upgrade\n');
  });

  it('passes the exit code through, as kubelet does', async () => {
    const failed = await kubectlExec('sh', '-c', 'echo out; echo err >&2; exit 3').then(
      () => undefined,
      (err: { code?: number; stdout?: string; stderr?: string }) => err,
    );
    expect(failed?.code).to.equal(3);
    expect(failed?.stdout).to.equal('out\n');
    expect(failed?.stderr).to.include('err\n');
  });
});
