// npm run local: the whole local stack in the foreground, stopped by Ctrl-C (or `npm run cluster -- down`):
// the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) with pgfn's
// CRDs, the event pipeline (real Knative receive adapters → local broker, which also routes Triggers
// applied to the API server → function processes acting as their own ServiceAccounts), an S3 server
// (versitygw) the sample cluster archives WAL, base backups and logical backups into, and the sample
// cluster crds/examples/minimal.yaml.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane, S3Server, clusterDir, isAlive, readClusterState, repoRoot } from '@pgfn/controlplane';
import * as k8s from '@kubernetes/client-node';
import { DEFAULT_NODE_CAPACITY, startLocalNodes, type LocalNodes } from '@pgfn/node-agent';
import {
  FUNCTION_LABEL,
  identityForFunction,
  identityForServiceAccount,
  knativeServicesOf,
  loadKustomization,
  startPipeline,
  type Pipeline,
} from '@pgfn/pipeline';
import { startLocalMonitoring, type LocalMonitoring } from './local-monitoring.js';

// --knative: Knative Eventing's own controllers and data plane carry the events (issue 23, ADR 0060).
const knative = process.argv.includes('--knative');
// --nodes N: N local nodes (issue 24, ADR 0075), each a Node of the node agent in its own zone (up to 3 zones).
const nodesArg = process.argv.indexOf('--nodes');
const nodeCount = nodesArg < 0 ? 1 : Number(process.argv[nodesArg + 1]);
if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 20) {
  console.error(`--nodes wants a count between 1 and 20, got "${process.argv[nodesArg + 1] ?? ''}"`);
  process.exit(2);
}
const existing = readClusterState();
if (existing !== undefined && isAlive(existing.owner)) {
  console.error(`a local control plane is already running (pid ${existing.owner}); stop it with: npm run cluster -- down`);
  process.exit(1);
}
const dir = clusterDir();
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const started = Date.now();
const cp = await ControlPlane.start({ dir, removeOnStop: false });
let pipeline: Pipeline | undefined;
let nodes: LocalNodes | undefined;
let monitoring: LocalMonitoring | undefined;
let s3: S3Server | undefined;
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the local stack …');
  await monitoring?.stop();
  await pipeline?.stop();
  await nodes?.stop();
  await s3?.stop();
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

try {
  process.env['KUBECONFIG'] = cp.kubeconfig;
  const crds = readdirSync(join(repoRoot, 'crds'))
    .filter((f) => f.endsWith('.crd.yaml'))
    .map((f) => join(repoRoot, 'crds', f));
  for (const crd of crds) await cp.kubectl(['apply', '--server-side', '--field-manager=pgfn', '-f', crd]);
  await cp.waitForCrds(['postgresqls.acid.zalan.do', 'operatorconfigurations.acid.zalan.do', 'postgresteams.acid.zalan.do']);

  // The operator configuration, as a cluster would have it: upstream's default configuration object.
  await cp.kubectl(['create', 'namespace', 'pgfn-system']).catch(() => '');
  await cp.kubectl([
    'apply',
    '--server-side',
    '--field-manager=kubectl',
    '-n',
    'pgfn-system',
    '-f',
    join(repoRoot, 'crds/examples/operatorconfiguration.yaml'),
  ]);
  // Spilo pods go to the node agent's node (real Patroni + PostgreSQL); everything else stays on kwok.
  await cp.kubectl([
    'patch',
    'operatorconfiguration',
    'pgfn-default-configuration',
    '-n',
    'pgfn-system',
    '--type=merge',
    '-p',
    JSON.stringify({ configuration: { kubernetes: { node_readiness_label: { 'pgfn.dev/node-agent': 'true' } } } }),
  ]);
  // Backups (ADR 0016): a real S3 server with the buckets the configuration names; Spilo pods get its
  // endpoint and keys through pod_environment_secret, as upstream documents for S3-compatible stores.
  s3 = await S3Server.start({ dir: join(dir, 's3'), buckets: ['pgfn-wal', 'pgfn-logical'] });
  const keys = { AWS_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
  const podEnv: Record<string, string> = { ...keys, USE_WALG_BACKUP: 'true', USE_WALG_RESTORE: 'true' };
  for (const [k, v] of Object.entries(keys)) Object.assign(podEnv, { [`CLONE_${k}`]: v, [`STANDBY_${k}`]: v });
  const podEnvSecret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pgfn-s3', namespace: 'default' }, stringData: podEnv };
  await cp.kubectl(['apply', '--server-side', '--field-manager=kubectl', '-f', '-'], JSON.stringify(podEnvSecret));
  await cp.kubectl([
    'patch',
    'operatorconfiguration',
    'pgfn-default-configuration',
    '-n',
    'pgfn-system',
    '--type=merge',
    '-p',
    JSON.stringify({
      configuration: {
        kubernetes: { pod_environment_secret: 'pgfn-s3' },
        aws_or_gcp: { wal_s3_bucket: 'pgfn-wal', aws_region: s3.region },
        logical_backup: {
          logical_backup_s3_bucket: 'pgfn-logical',
          logical_backup_s3_endpoint: s3.endpoint,
          logical_backup_s3_region: s3.region,
          logical_backup_s3_access_key_id: s3.accessKeyId,
          logical_backup_s3_secret_access_key: s3.secretAccessKey,
        },
      },
    }),
  ]);
  await cp.kubectl(['apply', '--server-side', '--field-manager=kubectl', '-f', join(repoRoot, 'knative/functions/postgres-pod.yaml')]);
  const configEnv = { OPERATOR_NAMESPACE: 'pgfn-system', POSTGRES_OPERATOR_CONFIGURATION_OBJECT: 'pgfn-default-configuration' };
  // backup-verify reads the buckets with its own keys (in a cluster: its Secret pgfn-backup-verify-s3).
  const bucketReader = { ...keys, AWS_REGION: s3.region };
  nodes = await startLocalNodes({
    count: nodeCount,
    kubeconfig: cp.kubeconfig,
    dataDir: join(dir, 'node-agent', 'data'),
    logDir: join(dir, 'logs', 'node-agent'),
    // Spilo pods all run on the agent: its expandable class as the default lets `spec.volume.size` grow.
    defaultStorageClass: true,
    // PGFN_NODE_CPU / PGFN_NODE_MEMORY: what the local node advertises (default generous: 64 CPUs, 256Gi).
    capacity: {
      cpu: process.env['PGFN_NODE_CPU'] ?? DEFAULT_NODE_CAPACITY.cpu,
      memory: process.env['PGFN_NODE_MEMORY'] ?? DEFAULT_NODE_CAPACITY.memory,
    },
  });

  // Each function and each source runs with exactly the RBAC shipped in knative/.
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(cp.kubeconfig);
  const id = { admin, dir, expirationSeconds: 7 * 24 * 3600 };
  // The functions knative/ deploys (examples such as hello-cluster have no Service there).
  const deployed = new Set(knativeServicesOf(loadKustomization()).map((svc) => svc.metadata.labels?.[FUNCTION_LABEL]));
  const functions = readdirSync(join(repoRoot, 'functions')).filter((f) => !f.startsWith('.') && deployed.has(f));
  const identities = Object.fromEntries(
    await Promise.all(functions.map(async (fn) => [fn, (await identityForFunction(fn, id)).file] as const)),
  );
  const source = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system', id);
  pipeline = await startPipeline({
    kubeconfig: cp.kubeconfig,
    adapterKubeconfig: source.file,
    logDir: join(dir, 'logs', 'pipeline'),
    functions: Object.fromEntries(
      functions.map((fn) => [
        fn,
        { env: { ...configEnv, ...(fn === 'backup-verify' ? bucketReader : {}), KUBECONFIG: identities[fn] ?? cp.kubeconfig } },
      ]),
    ),
    // Triggers you `kubectl apply` in pgfn-system are routed too (knative/examples/local-subscriber.yaml):
    // by Knative itself on the Knative path, by the stand-in broker otherwise.
    ...(knative ? { knative: { kubeconfig: cp.kubeconfig } } : { triggersFromApi: { kubeconfig: cp.kubeconfig } }),
  });

  // The sample runs at the version it names: the node agent has every supported major (hack/setup.sh).
  const sample = readFileSync(join(repoRoot, 'crds/examples/minimal.yaml'), 'utf8');
  const major = /version: "(\d+)"/.exec(sample)?.[1] ?? '17';
  await cp.kubectl(['apply', '--server-side', '--field-manager=kubectl', '-n', 'default', '-f', '-'], sample);
  const status = await waitForStatus(cp, 'acid-minimal', 120_000);
  monitoring = await startLocalMonitoring({ cp, dir, pipeline, admin, env: configEnv });
  const exporters = status === 'Running' ? await monitoring.watchCluster('default', 'acid-minimal') : 0;
  const kinds = 'postgresql,statefulset,service,endpoints,secret,pdb,pod';
  const eventPath = knative
    ? "Knative Eventing's own controllers, broker ingress/filter and in-memory channel"
    : "the stand-in broker (npm run local -- --knative for Knative's own)";
  console.log(`\n${await cp.kubectl(['get', kinds, '-n', 'default', '-l', 'cluster-name=acid-minimal'])}`);
  console.log(`
pgfn local stack is up in ${((Date.now() - started) / 1000).toFixed(1)} s; the sample cluster acid-minimal is ${status}.
  export KUBECONFIG=${cp.kubeconfig}
  kubectl: ${kubectlPath()} (matches the server)
  logs: ${join(dir, 'logs')} (control plane), ${join(dir, 'logs', 'pipeline')} (adapters, broker, functions${knative ? ', knative-*' : ''})
  events: ${eventPath}
  Your own subscriber: npm run event-display, then kubectl apply -f knative/examples/local-subscriber.yaml
  The cluster's pods run real Patroni + PostgreSQL ${major} on the node agent (logs: ${join(dir, 'logs', 'node-agent')}).
  Nodes: ${nodes.agents.map((a) => `${a.nodeName} (${a.nodeIP})`).join(', ')}
  Backups: S3 at ${s3.endpoint} (data ${s3.dir}; keys in Secret default/pgfn-s3):
            WAL and base backups in s3://pgfn-wal/spilo/<cluster>/<uid>/wal/${major}/,
            logical backups in s3://pgfn-logical/spilo/<cluster>/<uid>/logical_backups/.
  Connect:  PGPASSWORD=$(kubectl get secret postgres.acid-minimal.credentials.postgresql.acid.zalan.do \\
                           -o jsonpath='{.data.password}' | base64 -d) \\
            psql "host=$(kubectl get pod -l cluster-name=acid-minimal,spilo-role=master \\
                           -o jsonpath='{.items[0].status.podIP}') user=postgres dbname=postgres sslmode=require"
  UI:         ${monitoring.uiUrl}  (reads as ServiceAccount pgfn-system/pgfn-ui; writes need your token: send
              Authorization: Bearer $(kubectl create token <your-sa>) through a header-adding proxy or extension)
  Prometheus: ${monitoring.prometheusUrl}  (pgfn's alerts loaded; scraping the UI's fleet metrics, running functions and
              ${exporters} postgres_exporter(s) of acid-minimal's pods; stop a replica: PgfnPostgresDown fires after 1 min)
Press Ctrl-C to stop everything.`);
} catch (err) {
  console.error(`local stack failed: ${(err as Error).message}`);
  await stop();
}
setInterval(() => undefined, 1 << 30);

async function waitForStatus(controlPlane: ControlPlane, name: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '(no status yet)';
  while (Date.now() < deadline) {
    last =
      (await controlPlane
        .kubectl(['get', 'postgresql', name, '-n', 'default', '-o', 'jsonpath={.status.PostgresClusterStatus}'])
        .catch(() => '')) || last;
    if (last === 'Running') break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last;
}

function kubectlPath(): string {
  return execFileSync('bash', ['-c', `ls ${join(process.env['HOME'] ?? '', '.cache/pgfn/bin')}/kubernetes-*/kubectl | head -1`], {
    encoding: 'utf8',
  }).trim();
}
