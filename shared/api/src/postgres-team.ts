// The `PostgresTeam` custom resource (acid.zalan.do/v1), as upstream serialises it
// (pkg/apis/acid.zalan.do/v1/postgres_team_type.go).
import type { V1ListMeta, V1ObjectMeta } from '@kubernetes/client-node';

/** Extra teams and members granted access to clusters of a team, beyond the Teams API. */
export interface PostgresTeam {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: PostgresTeamSpec;
}

export interface PostgresTeamList {
  apiVersion: string;
  kind: string;
  metadata?: V1ListMeta;
  items: PostgresTeam[];
}

export interface PostgresTeamSpec {
  /** teamId -> teams whose members become superusers in that team's clusters. */
  additionalSuperuserTeams?: Record<string, string[]>;
  /** teamId -> teams whose members get roles in that team's clusters. */
  additionalTeams?: Record<string, string[]>;
  /** teamId -> individual users who get roles in that team's clusters. */
  additionalMembers?: Record<string, string[]>;
}
