// What makes a manifest unusable (severity "error": nothing is built, status Invalid) or worth a
// warning (built, but something is adjusted or ignored). Sources: the CRD schema
// (pkg/apis/acid.zalan.do/v1/postgresql.crd.yaml), MaintenanceWindow.UnmarshalJSON (marshal.go),
// validateCloneClusterDescription and ExtractClusterName (util.go), getNumberOfInstances (k8sres.go),
// initRobotUsers and poolerUser (cluster.go, connection_pooler.go).
import type { OperatorConfig, Postgresql, ResourceDescription } from '@pgfn/api';
import { extractClusterName, SERVICE_NAME_PATTERN } from './cluster-name.js';
import { isStandbyCluster, numberOfInstances } from './instances.js';
import { CLUSTER_NAME_MAX_LENGTH, poolerName, SERVICE_NAME_MAX_LENGTH } from './names.js';
import { normalizeCluster } from './normalize.js';
import { buildPodRoleBinding, buildPodServiceAccount } from './pod-service-account.js';
import { needPooler, poolerUser } from './pooler-settings.js';
import { isQuantity } from './quantity.js';
import { desiredUsers } from './users.js';
import { validateDatabases, validateSecretNames, validateUsers } from './validation-users.js';

export interface ValidationError {
  /** The manifest field (or configuration key) at fault, e.g. "spec.users.app_owner". */
  readonly path: string;
  /** A full sentence for the user. */
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

export const SUPPORTED_VERSIONS: readonly string[] = ['14', '15', '16', '17', '18'];
/** RFC 3339 with a numeric UTC offset, as the CRD requires of clone timestamps. */
const CLONE_TIMESTAMP =
  /^([0-9]+)-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(\.[0-9]+)?([+-]([01][0-9]|2[0-3]):[0-5][0-9])$/;
const MAINTENANCE_WINDOW = /^\s*(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun):)?(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*$/;
const CRON_SCHEDULE = /^(\d+|\*)(\/\d+)?(\s+(\d+|\*)(\/\d+)?){4}$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const error = (path: string, message: string): ValidationError => ({ path, message, severity: 'error' });
const warning = (path: string, message: string): ValidationError => ({ path, message, severity: 'warning' });

/** Every problem of the manifest under this configuration; an empty list means "build it as is". */
export function validateCluster(raw: Postgresql, config: OperatorConfig): ValidationError[] {
  const normalized = normalizeCluster(raw);
  const required = validateRequired(normalized);
  if (normalized.spec === undefined || normalized.spec === null) return required;
  // Missing required fields get stand-ins, so every other problem is reported in the same pass.
  const cluster = required.length === 0 ? normalized : withStandIns(normalized);
  return [...required, ...validateFilled(cluster, config)];
}

function validateFilled(cluster: Postgresql, config: OperatorConfig): ValidationError[] {
  const users = desiredUsers(cluster, config);
  return [
    ...validateName(cluster, config),
    ...validateVersion(cluster),
    ...validateInstances(cluster, config),
    ...validateUsers(cluster, config),
    ...validateSecretNames(cluster, config, users),
    ...validateDatabases(cluster, config, users),
    ...validateClone(cluster),
    ...validateStandby(cluster),
    ...validateSchedules(cluster),
    ...validateResources(cluster),
    ...validatePooler(cluster, config),
    ...validateConfigDefinitions(cluster, config),
    ...validateContainers(cluster, config),
  ];
}

/** True when nothing of severity "error" was found. */
export function isBuildable(errors: readonly ValidationError[]): boolean {
  return errors.every((e) => e.severity !== 'error');
}

/** The cluster with a value in each missing required field, only for validating the rest. */
function withStandIns(cluster: Postgresql): Postgresql {
  const name = cluster.metadata?.name || 'unnamed';
  const spec = cluster.spec as Partial<Postgresql['spec']>;
  return {
    ...cluster,
    metadata: { ...cluster.metadata, name },
    spec: {
      ...cluster.spec,
      teamId: typeof spec.teamId === 'string' ? spec.teamId : (name.split('-')[0] ?? name),
      numberOfInstances: typeof spec.numberOfInstances === 'number' ? spec.numberOfInstances : 1,
      postgresql: { ...spec.postgresql, version: typeof spec.postgresql?.version === 'string' ? spec.postgresql.version : '17' },
      volume: { ...spec.volume, size: typeof spec.volume?.size === 'string' ? spec.volume.size : '1Gi' },
    },
  };
}

function validateRequired(cluster: Postgresql): ValidationError[] {
  const out: ValidationError[] = [];
  if (!cluster.metadata?.name) out.push(error('metadata.name', 'The postgresql object has no name.'));
  const spec = cluster.spec as Partial<Postgresql['spec']> | undefined;
  if (spec === undefined || spec === null) return [...out, error('spec', 'The postgresql object has no spec.')];
  if (typeof spec.teamId !== 'string') out.push(error('spec.teamId', 'spec.teamId is required: the team that owns the cluster.'));
  if (typeof spec.numberOfInstances !== 'number')
    out.push(error('spec.numberOfInstances', 'spec.numberOfInstances is required: how many Postgres pods to run.'));
  if (typeof spec.postgresql?.version !== 'string')
    out.push(error('spec.postgresql.version', 'spec.postgresql.version is required, e.g. "17".'));
  if (typeof spec.volume?.size !== 'string') out.push(error('spec.volume.size', 'spec.volume.size is required, e.g. "10Gi".'));
  return out;
}

function validateName(cluster: Postgresql, config: OperatorConfig): ValidationError[] {
  const name = cluster.metadata.name ?? '';
  const out: ValidationError[] = [];
  if (name.length > CLUSTER_NAME_MAX_LENGTH) {
    out.push(
      error(
        'metadata.name',
        `The cluster name "${name}" is ${name.length} characters long; at most ${CLUSTER_NAME_MAX_LENGTH} are ` +
          `allowed so that "${name}-repl" is still a valid Service name.`,
      ),
    );
  } else if (!SERVICE_NAME_PATTERN.test(name)) {
    out.push(
      error(
        'metadata.name',
        `The cluster name "${name}" must consist of lower-case letters, digits and "-", start with a letter ` +
          `and end with a letter or digit.`,
      ),
    );
  }
  if (config.enableTeamIdClusternamePrefix) {
    const extracted = extractClusterName(name, cluster.spec.teamId);
    if (!extracted.ok)
      out.push(
        error(
          'metadata.name',
          `The cluster name must start with the team ID and a dash ("${cluster.spec.teamId}-…") because the ` +
            `configuration enables enable_team_id_clustername_prefix: ${extracted.reason}.`,
        ),
      );
  }
  if (cluster.spec.teamId.length > 63 || !LABEL_VALUE.test(cluster.spec.teamId)) {
    out.push(
      error(
        'spec.teamId',
        `The team ID "${cluster.spec.teamId}" cannot be a label value: use at most 63 letters, digits, "-", ` +
          `"_" and ".", starting and ending with a letter or digit.`,
      ),
    );
  }
  return out;
}

function validateVersion(cluster: Postgresql): ValidationError[] {
  const version = cluster.spec.postgresql.version;
  if (SUPPORTED_VERSIONS.includes(version)) return [];
  return [
    error('spec.postgresql.version', `PostgreSQL version "${version}" is not supported; use one of ${SUPPORTED_VERSIONS.join(', ')}.`),
  ];
}

function validateInstances(cluster: Postgresql, config: OperatorConfig): ValidationError[] {
  const requested = cluster.spec.numberOfInstances;
  if (!Number.isInteger(requested) || requested < 0) {
    return [error('spec.numberOfInstances', `spec.numberOfInstances must be a whole number of at least 0, not ${requested}.`)];
  }
  const out: ValidationError[] = [];
  const effective = numberOfInstances(cluster, config);
  if (effective !== requested) {
    out.push(
      warning(
        'spec.numberOfInstances',
        `The cluster runs ${effective} pod(s) instead of ${requested}: the configuration allows between ` +
          `${config.minInstances} and ${config.maxInstances} (-1 means no limit).`,
      ),
    );
  }
  if (isStandbyCluster(cluster) && requested > 1) {
    out.push(warning('spec.numberOfInstances', `A standby cluster is meant to run one pod; ${requested} were requested.`));
  }
  return out;
}

/** "Ddd:HH:MM-HH:MM" or "HH:MM-HH:MM", the start not after the end (upstream MaintenanceWindow.UnmarshalJSON). */
export function maintenanceWindowProblem(text: string): string | undefined {
  const m = MAINTENANCE_WINDOW.exec(text);
  if (m === null) return 'use "HH:MM-HH:MM" for every day or "Ddd:HH:MM-HH:MM" for one weekday (Mon … Sun)';
  const [startH, startM, endH, endM] = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number];
  if (startH > 23 || endH > 23 || startM > 59 || endM > 59) return 'hours run from 0 to 23 and minutes from 00 to 59';
  if (endH * 60 + endM < startH * 60 + startM) return 'the window must not end before it starts';
  return undefined;
}

function validateSchedules(cluster: Postgresql): ValidationError[] {
  const out: ValidationError[] = [];
  (cluster.spec.maintenanceWindows ?? []).forEach((w, i) => {
    const problem = maintenanceWindowProblem(w);
    if (problem !== undefined) out.push(error(`spec.maintenanceWindows[${i}]`, `The maintenance window "${w}" is not valid: ${problem}.`));
  });
  const schedule = cluster.spec.logicalBackupSchedule;
  if (schedule && !CRON_SCHEDULE.test(schedule)) {
    out.push(
      error(
        'spec.logicalBackupSchedule',
        `The logical backup schedule "${schedule}" is not a five-field cron schedule of numbers, "*" and "/step" (e.g. "30 00 * * *").`,
      ),
    );
  }
  return out;
}

function validateClone(cluster: Postgresql): ValidationError[] {
  const clone = cluster.spec.clone;
  if (clone === undefined || clone === null) return [];
  const out: ValidationError[] = [];
  if (clone.timestamp && !CLONE_TIMESTAMP.test(clone.timestamp)) {
    out.push(
      error(
        'spec.clone.timestamp',
        `The clone timestamp "${clone.timestamp}" must be an RFC 3339 date-time with a UTC offset, e.g. "2026-11-20T23:30:00+01:00".`,
      ),
    );
  }
  const source = clone.cluster ?? '';
  if (source === '') out.push(error('spec.clone.cluster', 'spec.clone.cluster is required: the name of the cluster to clone.'));
  if (source !== '' && !clone.timestamp && (!SERVICE_NAME_PATTERN.test(source) || source.length > SERVICE_NAME_MAX_LENGTH)) {
    out.push(
      error(
        'spec.clone.cluster',
        `The clone source "${source}" must be a valid Service name (lower-case letters, digits and "-", at ` +
          `most ${SERVICE_NAME_MAX_LENGTH} characters): without a timestamp it is reached over the network.`,
      ),
    );
  }
  return out;
}

function validateStandby(cluster: Postgresql): ValidationError[] {
  const standby = cluster.spec.standby;
  if (standby === undefined || standby === null) return [];
  if (standby.s3_wal_path && standby.gs_wal_path) {
    return [error('spec.standby', 'A standby cluster follows one WAL archive: set s3_wal_path or gs_wal_path, not both.')];
  }
  if (!standby.s3_wal_path && !standby.gs_wal_path && !standby.standby_host) {
    return [error('spec.standby', 'A standby cluster needs a source: standby_host, s3_wal_path or gs_wal_path.')];
  }
  return [];
}

function validateResources(cluster: Postgresql): ValidationError[] {
  const out: ValidationError[] = [];
  const check = (path: string, values: ResourceDescription | undefined): void => {
    for (const [name, value] of Object.entries(values ?? {})) {
      if (value !== undefined && value !== null && value !== '' && !isQuantity(String(value))) {
        out.push(error(`${path}.${name}`, `"${value}" is not a Kubernetes quantity (examples: 500m, 2, 1Gi).`));
      }
    }
  };
  check('spec.resources.requests', cluster.spec.resources?.requests);
  check('spec.resources.limits', cluster.spec.resources?.limits);
  check('spec.connectionPooler.resources.requests', cluster.spec.connectionPooler?.resources?.requests);
  check('spec.connectionPooler.resources.limits', cluster.spec.connectionPooler?.resources?.limits);
  (cluster.spec.sidecars ?? []).forEach((s, i) => {
    check(`spec.sidecars[${i}].resources.requests`, s.resources?.requests);
    check(`spec.sidecars[${i}].resources.limits`, s.resources?.limits);
  });
  if (!isQuantity(cluster.spec.volume.size))
    out.push(error('spec.volume.size', `"${cluster.spec.volume.size}" is not a Kubernetes quantity (e.g. 10Gi).`));
  return out;
}

function validatePooler(cluster: Postgresql, config: OperatorConfig): ValidationError[] {
  if (!needPooler(cluster.spec)) return [];
  const out: ValidationError[] = [];
  const wanted = cluster.spec.connectionPooler?.user;
  if (wanted && poolerUser(cluster.spec, config) !== wanted) {
    out.push(
      warning(
        'spec.connectionPooler.user',
        `The pooler cannot log in as "${wanted}" (the superuser, the replication user and protected roles are ` +
          `not allowed); it uses "${config.connectionPoolerUser}".`,
      ),
    );
  }
  for (const role of ['master', 'replica'] as const) {
    const name = poolerName(cluster, role);
    if (needPooler(cluster.spec, role) && name.length > SERVICE_NAME_MAX_LENGTH) {
      out.push(
        error(
          'metadata.name',
          `The ${role} pooler Service would be named "${name}", longer than ${SERVICE_NAME_MAX_LENGTH} ` +
            `characters: shorten the cluster name.`,
        ),
      );
    }
  }
  return out;
}

/**
 * Upstream's validateContainers (k8sres.go), with its texts: every init container and configured
 * sidecar needs a name, every one an image (a manifest sidecar without a name is called sidecar-N,
 * as upstream). A name used twice in the pod is refused: the StatefulSet would be rejected.
 */
function validateContainers(cluster: Postgresql, config: OperatorConfig): ValidationError[] {
  const out: ValidationError[] = [];
  const groups: { kind: 'sidecar' | 'init'; path: string; list: readonly { name?: string; image?: string }[]; unnamed: boolean }[] = [
    { kind: 'sidecar', path: 'spec.sidecars', list: cluster.spec.sidecars ?? [], unnamed: true },
    { kind: 'sidecar', path: 'configuration sidecars', list: config.sidecars, unnamed: false },
    { kind: 'init', path: 'spec.initContainers', list: cluster.spec.initContainers ?? [], unnamed: false },
  ];
  for (const { kind, path, list, unnamed } of groups) {
    list.forEach((c, i) => {
      const name = c.name || (unnamed ? `sidecar-${i}` : '');
      if (name === '') out.push(error(`${path}[${i}].name`, `invalid ${kind} containers: container[${i}]: name is required.`));
      else if (!c.image) out.push(error(`${path}[${i}].image`, `invalid ${kind} containers: container '${name}': image is required.`));
    });
  }
  for (const [name, image] of Object.entries(config.sidecarDockerImages)) {
    if (!image)
      out.push(error(`configuration sidecar_docker_images.${name}`, `invalid sidecar containers: container '${name}': image is required.`));
  }
  const seen = new Set<string>(['postgres']);
  const named = [
    ...(cluster.spec.sidecars ?? []).map((c, i) => ({ name: c.name || `sidecar-${i}`, path: `spec.sidecars[${i}]` })),
    ...(cluster.spec.initContainers ?? []).map((c, i) => ({ name: c.name, path: `spec.initContainers[${i}]` })),
  ];
  for (const { name, path } of named) {
    if (!name) continue;
    if (seen.has(name))
      out.push(error(`${path}.name`, `The container name "${name}" is used twice in the pod (the Spilo container is "postgres").`));
    else seen.add(name);
  }
  return [...out, ...duplicateEnv(cluster)];
}

/**
 * A name set twice in spec.env: the first wins, as upstream's appendEnvVars keeps it (names compared
 * case-insensitively); the API server would accept both, so this is a warning (ADR 0006).
 */
function duplicateEnv(cluster: Postgresql): ValidationError[] {
  const out: ValidationError[] = [];
  const first = new Map<string, number>();
  (cluster.spec.env ?? []).forEach((e, i) => {
    const key = e.name.toLowerCase();
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, i);
    else {
      out.push(
        warning(
          `spec.env[${i}].name`,
          `The environment variable "${e.name}" is set twice in spec.env; the first (spec.env[${earlier}]) is used, this one is ignored.`,
        ),
      );
    }
  });
  return out;
}

function validateConfigDefinitions(cluster: Postgresql, config: OperatorConfig): ValidationError[] {
  const out: ValidationError[] = [];
  for (const [key, build] of [
    ['pod_service_account_definition', buildPodServiceAccount],
    ['pod_service_account_role_binding_definition', buildPodRoleBinding],
  ] as const) {
    try {
      build(cluster, config);
    } catch (err) {
      out.push(error(`configuration ${key}`, `${(err as Error).message}.`));
    }
  }
  return out;
}
