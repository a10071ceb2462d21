// The ServiceAccount Spilo pods run as and its RoleBinding, one pair per namespace and shared by all
// clusters there (upstream initPodServiceAccount and initRoleBinding in pkg/controller/controller.go,
// createPodServiceAccount and createRoleBindings in pkg/controller/postgresql.go, IRSA annotation from
// syncPodServiceAccount in pkg/cluster/sync.go). No cluster labels and no owner: deleting one
// cluster must not take the account away from the others.
import type { V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { parse } from 'yaml';
import { clusterNamespace } from './inputs.js';

/** EKS reads the IAM role of a ServiceAccount from this annotation (upstream constants.IRSAAnnotation). */
export const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn';

type Definition = Record<string, unknown> & { kind?: unknown; metadata?: Record<string, unknown> };

/** A definition from the configuration (JSON or YAML text); throws a sentence naming the key when unusable. */
function parseDefinition(text: string, kind: string, key: string): Definition {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new Error(`configuration ${key}: the definition is neither JSON nor YAML (${(err as Error).message})`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`configuration ${key}: the definition is not an object`);
  const def = value as Definition;
  if (def.kind !== kind) throw new Error(`configuration ${key}: the definition describes a ${String(def.kind)}, not a ${kind}`);
  return def;
}

/**
 * The pod ServiceAccount: config pod_service_account_definition or a bare account, always named
 * pod_service_account_name (upstream warns and renames too), in the cluster's namespace.
 */
export function buildPodServiceAccount(cluster: Postgresql, config: OperatorConfig): V1ServiceAccount {
  const def = config.podServiceAccountDefinition
    ? parseDefinition(config.podServiceAccountDefinition, 'ServiceAccount', 'pod_service_account_definition')
    : {};
  const account = structuredClone(def) as V1ServiceAccount;
  const metadata = { ...(account.metadata ?? {}), name: config.podServiceAccountName, namespace: clusterNamespace(cluster) };
  if (config.irsaRoleArn !== '') metadata.annotations = { ...(metadata.annotations ?? {}), [IRSA_ANNOTATION]: config.irsaRoleArn };
  return { apiVersion: 'v1', kind: 'ServiceAccount', ...account, metadata };
}

/**
 * Binds the pod ServiceAccount to the ClusterRole of the same name (which the administrator
 * installs), or whatever pod_service_account_role_binding_definition says, in the cluster's namespace.
 */
export function buildPodRoleBinding(cluster: Postgresql, config: OperatorConfig): V1RoleBinding {
  const namespace = clusterNamespace(cluster);
  const account = config.podServiceAccountName;
  const binding: V1RoleBinding = config.podServiceAccountRoleBindingDefinition
    ? (structuredClone(
        parseDefinition(config.podServiceAccountRoleBindingDefinition, 'RoleBinding', 'pod_service_account_role_binding_definition'),
      ) as unknown as V1RoleBinding)
    : {
        metadata: { name: account },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: account },
        subjects: [{ kind: 'ServiceAccount', name: account }],
      };
  // A ServiceAccount subject without a namespace means the binding's own; say so explicitly.
  const subjects = (binding.subjects ?? []).map((s) => (s.kind === 'ServiceAccount' && !s.namespace ? { ...s, namespace } : s));
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    ...binding,
    metadata: { ...(binding.metadata ?? {}), namespace },
    subjects,
  };
}
