// TLS for Postgres from a user-provided Secret (upstream generateTlsMounts, k8sres.go): the Secret is
// mounted at /tls (a separate CA Secret at /tlsca) and Spilo is pointed at the files through
// SSL_CERTIFICATE_FILE, SSL_PRIVATE_KEY_FILE and SSL_CA_FILE.
import { posix } from 'node:path';
import type { V1EnvVar } from '@kubernetes/client-node';
import type { AdditionalVolume, TLSDescription } from '@pgfn/api';
import { valueEnv } from './env-vars.js';

export const TLS_MOUNT_PATH = '/tls';
export const TLS_CA_MOUNT_PATH = '/tlsca';
/** 0640: readable by the postgres group, which the pod's fsGroup provides. */
const TLS_FILE_MODE = 0o640;

/** A path inside `dir` unless `file` is absolute; `fallback` when `file` is empty. */
export function ensurePath(file: string | undefined, dir: string, fallback: string): string {
  if (!file) return posix.join(dir, fallback);
  return posix.isAbsolute(file) ? file : posix.join(dir, file);
}

/** Env and volumes for the Secret named in spec.tls; nothing when no secretName is given. */
export function tlsMounts(tls: TLSDescription | undefined): { env: V1EnvVar[]; volumes: AdditionalVolume[] } {
  if (tls === undefined || !tls.secretName) return { env: [], volumes: [] };
  const volumes: AdditionalVolume[] = [secretVolume(tls.secretName, TLS_MOUNT_PATH)];
  const env: V1EnvVar[] = [
    valueEnv('SSL_CERTIFICATE_FILE', ensurePath(tls.certificateFile, TLS_MOUNT_PATH, 'tls.crt')),
    valueEnv('SSL_PRIVATE_KEY_FILE', ensurePath(tls.privateKeyFile, TLS_MOUNT_PATH, 'tls.key')),
  ];
  if (tls.caFile) {
    const caDir = tls.caSecretName ? TLS_CA_MOUNT_PATH : TLS_MOUNT_PATH;
    env.push(valueEnv('SSL_CA_FILE', ensurePath(tls.caFile, caDir, '')));
    if (tls.caSecretName) volumes.push(secretVolume(tls.caSecretName, TLS_CA_MOUNT_PATH));
  }
  return { env, volumes };
}

function secretVolume(secretName: string, mountPath: string): AdditionalVolume {
  return { name: secretName, mountPath, volumeSource: { secret: { secretName, defaultMode: TLS_FILE_MODE } } };
}
