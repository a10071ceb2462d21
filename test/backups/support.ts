// Shared pieces of the backup tests: a real S3 server (versitygw), the pod environment upstream users
// give Spilo for an S3-compatible archive (pod_environment_secret), and the archive of a cluster read
// through @pgfn/backup-store.
import { openArchive, s3ObjectStore, type BackupArchive } from '@pgfn/backup-store';
import { S3Server } from '@pgfn/controlplane';
import type { SpiloCluster } from '@pgfn/node-agent/testing';
import { connect } from '../node-agent/support.js';

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
