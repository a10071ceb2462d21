// Shared pieces of the backup tests: a real S3 server (versitygw), the pod environment upstream users
// give Spilo for an S3-compatible archive (pod_environment_secret), and the archive of a cluster read
// through @pgfn/backup-store.
import * as k8s from '@kubernetes/client-node';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig } from '@pgfn/api';
import { logicalBackupJobName } from '@pgfn/builder';
import { openArchive, s3ObjectStore, type BackupArchive } from '@pgfn/backup-store';
import { S3Server } from '@pgfn/controlplane';
import { SPILO_BACKUP_COMMAND } from '@pgfn/fn-runtime';
import { KubeClient, podExec } from '@pgfn/kube';
import { agentNodeLabels } from '@pgfn/node-agent';
import { postgresPodClusterRole, type SpiloCluster } from '@pgfn/node-agent/testing';
import { ensureCrds } from '../crds/install.js';
import { connect, startTestAgent, type TestAgent } from '../node-agent/support.js';
import { startReconcile, type RunningReconcile } from '../reconcile/support.js';
import { adminConfig, createNamespace, eventually, statusOf } from '../support/kube.js';

export const WAL_BUCKET = 'pgfn-wal';
export const LOGICAL_BUCKET = 'pgfn-logical';

export async function startS3(): Promise<S3Server> {
  return S3Server.start({ buckets: [WAL_BUCKET, LOGICAL_BUCKET] });
}

/**
 * What upstream's docs tell users to put in pod_environment_secret for an S3-compatible store: the
 * endpoint and keys for the cluster's own archive, the same for clone and standby sources, and
 * USE_WALG_BACKUP so Spilo's archive_command is the WAL-G one.
 */
export function s3PodEnvironment(s3: S3Server, extra: Record<string, string> = {}): Record<string, string> {
  const keys = { AWS_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
  const out: Record<string, string> = { ...keys, USE_WALG_BACKUP: 'true', USE_WALG_RESTORE: 'true' };
  for (const prefix of ['CLONE_', 'STANDBY_']) for (const [k, v] of Object.entries(keys)) out[prefix + k] = v;
  return { ...out, ...extra };
}

/** Spilo's WAL prefix of a cluster: s3://<bucket>/spilo/<cluster>/<uid>/wal/<major> (key part only). */
export function walPrefix(cluster: SpiloCluster, major = '15'): string {
  return `spilo/${cluster.name}/${cluster.manifest.metadata.uid ?? ''}/wal/${major}`;
}

export async function archiveOf(s3: S3Server, cluster: SpiloCluster): Promise<BackupArchive> {
  return openArchive({ store: s3ObjectStore(s3.client(), WAL_BUCKET), prefix: walPrefix(cluster), layout: 'barman-cloud' });
}

export async function sql<T extends Record<string, unknown>>(host: string, password: string, text: string): Promise<T[]> {
  const client = await connect(host, password);
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Runs a cluster's logical-backup CronJob now: a Job from the live CronJob's template (the one reconcile
 * built), as `kubectl create job --from=cronjob/…` does (ADR 0135). test/backups/logical.test.ts proves
 * the schedule itself; a file that only needs a dump in the bucket does not wait for the next scheduled run.
 */
export async function runLogicalBackupNow(kc: k8s.KubeConfig, namespace: string, cluster: string): Promise<void> {
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const name = logicalBackupJobName({ metadata: { name: cluster } });
  const cronJob = await eventually(
    `the CronJob ${name}`,
    () =>
      batch.readNamespacedCronJob({ namespace, name }).catch((err: unknown) => {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }),
    60_000,
    500,
  );
  const template = cronJob.spec?.jobTemplate;
  if (template === undefined) throw new Error(`the CronJob ${name} has no job template`);
  await batch.createNamespacedJob({
    namespace,
    body: {
      metadata: {
        name: `${name}-now`,
        labels: template.metadata?.labels,
        annotations: { ...template.metadata?.annotations, 'cronjob.kubernetes.io/instantiate': 'manual' },
      },
      spec: template.spec,
    },
  });
}

/**
 * Takes a base backup in the pod now, the command Spilo's cron runs (SPILO_BACKUP_COMMAND through
 * pods/exec, as backup-verify's backups on request do; ADR 0135), instead of waiting up to a minute for
 * BACKUP_SCHEDULE. Returns the script's exit code and output: a scheduled run at the same moment may make
 * this one give way, so callers still wait for the backup they need to appear in the archive.
 */
export async function takeBaseBackupNow(kc: k8s.KubeConfig, namespace: string, pod: string): Promise<{ exitCode: number; tail: string }> {
  const ran = await podExec(kc)({ namespace, pod, container: 'postgres', command: SPILO_BACKUP_COMMAND });
  return { exitCode: ran.exitCode, tail: `${ran.stdout}${ran.stderr}`.trim().split('\n').slice(-3).join('\n') };
}

/** A namespace archiving into a real S3 server: node agent, reconcile, and the operator configuration upstream users write. */
export interface BackupStack {
  readonly kc: k8s.KubeConfig;
  readonly s3: S3Server;
  readonly ns: { readonly name: string; cleanup(): Promise<void> };
  readonly agent: TestAgent;
  readonly config: OperatorConfig;
  readonly reconcile: RunningReconcile;
  /** Stops what it started, last first; safe after a partial start. */
  stop(): Promise<void>;
}

/**
 * Starts S3, a namespace with the `pod_environment_secret` upstream documents (plus `spiloEnv`, e.g. the
 * backup schedule), a node agent and reconcile configured with WAL and logical-backup buckets.
 */
export async function startBackupStack(o: {
  readonly namespace: string;
  readonly agentNode: string;
  readonly spiloEnv: Record<string, string>;
}): Promise<BackupStack> {
  const kc = adminConfig();
  await ensureCrds(kc);
  const started: { stop(): Promise<void> }[] = [];
  const stop = async (): Promise<void> => {
    for (const part of started.reverse()) await part.stop();
  };
  try {
    const s3 = await startS3();
    started.push(s3);
    const ns = await createNamespace(kc, o.namespace);
    started.push({ stop: () => ns.cleanup() });
    const agent = await startTestAgent(o.agentNode);
    started.push(agent);
    const kube = new KubeClient(kc);
    await kube.apply(postgresPodClusterRole());
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pgfn-s3', namespace: ns.name },
      stringData: s3PodEnvironment(s3, o.spiloEnv),
    } as never);
    const config: OperatorConfig = {
      ...structuredClone(DEFAULT_OPERATOR_CONFIG),
      nodeReadinessLabel: agentNodeLabels(),
      dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p1',
      walS3Bucket: WAL_BUCKET,
      podEnvironmentSecret: 'pgfn-s3',
      logicalBackupS3Bucket: LOGICAL_BUCKET,
      logicalBackupS3Endpoint: s3.endpoint,
      logicalBackupS3AccessKeyId: s3.accessKeyId,
      logicalBackupS3SecretAccessKey: s3.secretAccessKey,
    };
    const reconcile = await startReconcile(kc, ns.name, config);
    started.push(reconcile);
    return { kc, s3, ns, agent, config, reconcile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
