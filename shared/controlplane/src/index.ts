export {
  ControlPlane,
  KWOK_NODE_NAME,
  KWOK_NODE_SELECTOR,
  KWOK_POD_CIDR,
  SERVICE_CIDR,
  TOKEN_USERS,
  kubeApiserverFlags,
  kubectlRun,
  logTails,
} from './controlplane.js';
export type { ControlPlaneOptions, ControlPlaneState } from './controlplane.js';
export {
  assertExclusive,
  EVERY_LANE,
  PRIVATE_CONTROL_PLANE,
  ZALANDO_OPERATOR,
  EXCLUSIVE_LOCK_ENV,
  LANES,
  processAlive,
  releaseExclusive,
  takeExclusive,
  type Lane,
  type LaneNeed,
} from './exclusive.js';
export { httpsGet } from './https-get.js';
export type { AdminTls } from './https-get.js';
export { kubeconfigYaml } from './kubeconfig.js';
export { clientCert, selfSignedServerCert } from './pki.js';
export type { KubeconfigAuth } from './kubeconfig.js';
export { freePort, freePorts } from './ports.js';
export { ManagedProcess, isAlive, tailFile } from './process.js';
export type { ProcessOptions } from './process.js';
export { binaries, cacheDir, readVersions, repoRoot } from './versions.js';
export { clusterDir, readClusterState } from './local-cluster.js';
export { S3Server, versitygwBinary } from './s3-server.js';
export type { S3Credentials, S3Endpoint, S3ServerOptions } from './s3-server.js';
