// API group, version, kinds and resource names of the acid.zalan.do CRDs.
// Source: upstream pkg/apis/acid.zalan.do/register.go, v1/register.go, v1/crds.go.

export const GROUP = 'acid.zalan.do';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

/** Kind of the cluster resource: lower case, as upstream registers it. */
export const POSTGRESQL_KIND = 'postgresql';
export const POSTGRESQL_LIST_KIND = 'postgresqlList';
export const POSTGRESQL_PLURAL = 'postgresqls';
export const POSTGRESQL_SINGULAR = 'postgresql';
export const POSTGRESQL_SHORT_NAME = 'pg';

export const POSTGRES_TEAM_KIND = 'PostgresTeam';
export const POSTGRES_TEAM_LIST_KIND = 'PostgresTeamList';
export const POSTGRES_TEAM_PLURAL = 'postgresteams';
export const POSTGRES_TEAM_SINGULAR = 'postgresteam';
export const POSTGRES_TEAM_SHORT_NAME = 'pgteam';

export const OPERATOR_CONFIGURATION_KIND = 'OperatorConfiguration';
export const OPERATOR_CONFIGURATION_LIST_KIND = 'OperatorConfigurationList';
export const OPERATOR_CONFIGURATION_PLURAL = 'operatorconfigurations';
export const OPERATOR_CONFIGURATION_SINGULAR = 'operatorconfiguration';
export const OPERATOR_CONFIGURATION_SHORT_NAME = 'opconfig';

/** Full CRD names (`<plural>.<group>`). */
export const POSTGRESQL_CRD_NAME = `${POSTGRESQL_PLURAL}.${GROUP}` as const;
export const POSTGRES_TEAM_CRD_NAME = `${POSTGRES_TEAM_PLURAL}.${GROUP}` as const;
export const OPERATOR_CONFIGURATION_CRD_NAME = `${OPERATOR_CONFIGURATION_PLURAL}.${GROUP}` as const;
