// What Patroni's REST API answers, as far as pgfn reads it (patroni/api.py and utils.cluster_as_json
// of Patroni 3.0.2; later versions add fields and say `streaming` where 3.0 says `running`).

/** One entry of GET /cluster's `members`. */
export interface ClusterMember {
  readonly name: string;
  /** leader, standby_leader, sync_standby or replica (3.x); `primary`/`quorum_standby` in 4.x. */
  readonly role: string;
  /** running, streaming, in archive recovery, starting, stopped, … */
  readonly state: string;
  readonly api_url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly timeline?: number;
  /** Bytes behind the leader; `unknown` when the member reported no position. */
  readonly lag?: number | string;
  readonly pending_restart?: boolean;
  readonly tags?: Readonly<Record<string, unknown>>;
}

export interface ClusterView {
  readonly members: readonly ClusterMember[];
  readonly pause?: boolean;
}

/** One row of the leader's `replication` (pg_stat_replication as GET /patroni reports it). */
export interface ReplicationRow {
  readonly usename?: string;
  readonly application_name: string;
  readonly client_addr?: string;
  readonly state: string;
  readonly sync_state?: string;
}

/** GET /patroni (and GET /): this member's own view. */
export interface MemberStatus {
  readonly state: string;
  readonly role: string;
  readonly server_version?: number;
  readonly pending_restart?: boolean;
  readonly timeline?: number;
  readonly replication?: readonly ReplicationRow[];
  readonly patroni?: { readonly version?: string; readonly scope?: string };
}

/** GET /config: the dynamic configuration kept in the DCS. */
export type DynamicConfig = Readonly<Record<string, unknown>>;
