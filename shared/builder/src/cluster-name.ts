// The `{team}-{name}` convention for cluster names (upstream ExtractClusterName,
// pkg/apis/acid.zalan.do/v1/util.go; limits from v1/const.go).
import { CLUSTER_NAME_MAX_LENGTH } from './names.js';

/** DNS-1035 label: what a Service name (and so a cluster name) must look like. */
export const SERVICE_NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export type ExtractedName = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly reason: string };

/**
 * The part of `clusterName` after the `<teamId>-` prefix, or why the name does not follow that
 * convention. Compared case-insensitively, as upstream does.
 */
export function extractClusterName(clusterName: string, teamId: string): ExtractedName {
  if (clusterName.length < teamId.length + 2) {
    return { ok: false, reason: `the name "${clusterName}" is too short to start with the team "${teamId}" followed by a dash and a name` };
  }
  if (teamId.length === 0) return { ok: false, reason: 'spec.teamId is empty' };
  if (clusterName.slice(0, teamId.length + 1).toLowerCase() !== `${teamId.toLowerCase()}-`) {
    return { ok: false, reason: `the name "${clusterName}" does not start with the team "${teamId}" followed by a dash` };
  }
  if (clusterName.length > CLUSTER_NAME_MAX_LENGTH) {
    return { ok: false, reason: `the name "${clusterName}" is longer than ${CLUSTER_NAME_MAX_LENGTH} characters` };
  }
  if (!SERVICE_NAME_PATTERN.test(clusterName)) {
    return {
      ok: false,
      reason: `the name "${clusterName}" is not a DNS-1035 label (lower-case letters, digits and dashes, starting with a letter)`,
    };
  }
  return { ok: true, name: clusterName.slice(teamId.length + 1) };
}
