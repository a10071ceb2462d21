// The create/edit form and the manifest it stands for, both ways. Pure. The form holds what most
// clusters set; the builder's validation (preview.ts) judges the result, the form only parses.
import type { Postgresql } from '@pgfn/api';

export interface ClusterForm {
  readonly namespace: string;
  readonly name: string;
  readonly team: string;
  readonly version: string;
  readonly instances: string;
  readonly volumeSize: string;
  readonly pooler: boolean;
  /** One per line: `role: flag, flag` (e.g. `app_owner: createdb`). */
  readonly users: string;
  /** One per line: `database: owner`. */
  readonly databases: string;
}

export const EMPTY_FORM: ClusterForm = {
  namespace: 'default',
  name: '',
  team: '',
  version: '17',
  instances: '2',
  volumeSize: '1Gi',
  pooler: false,
  users: '',
  databases: '',
};

export interface FormProblem {
  readonly field: string;
  readonly message: string;
}

/** Form fields from a posted body (strings; a checkbox is present or not). */
export function formFromBody(body: Record<string, unknown>): ClusterForm {
  const text = (k: string): string => (typeof body[k] === 'string' ? body[k].trim() : '');
  return {
    namespace: text('namespace') || 'default',
    name: text('name'),
    team: text('team'),
    version: text('version'),
    instances: text('instances'),
    volumeSize: text('volumeSize'),
    pooler: body['pooler'] === 'on',
    users: text('users'),
    databases: text('databases'),
  };
}

function pairs(text: string): { key: string; value: string; line: number }[] {
  return text
    .split(/\r?\n/)
    .map((l, i) => ({ l: l.trim(), line: i + 1 }))
    .filter(({ l }) => l !== '')
    .map(({ l, line }) => {
      const at = l.indexOf(':');
      return at < 0 ? { key: l, value: '', line } : { key: l.slice(0, at).trim(), value: l.slice(at + 1).trim(), line };
    });
}

/** The manifest the form describes, or what keeps the form from describing one. */
export function manifestFromForm(form: ClusterForm): { manifest?: Postgresql; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const instances = Number(form.instances);
  if (!/^\d+$/.test(form.instances)) problems.push({ field: 'instances', message: 'Instances must be a whole number.' });
  if (form.name === '') problems.push({ field: 'name', message: 'A cluster needs a name.' });
  if (form.team === '') problems.push({ field: 'team', message: 'A cluster needs a team (teamId).' });
  const users: Record<string, string[]> = {};
  for (const u of pairs(form.users)) {
    users[u.key] =
      u.value === ''
        ? []
        : u.value
            .split(',')
            .map((f) => f.trim())
            .filter((f) => f !== '');
  }
  const databases: Record<string, string> = {};
  for (const d of pairs(form.databases)) {
    if (d.value === '') problems.push({ field: 'databases', message: `Line ${d.line}: write "database: owner".` });
    else databases[d.key] = d.value;
  }
  if (problems.length > 0) return { problems };
  const manifest: Postgresql = {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name: form.name, namespace: form.namespace },
    spec: {
      teamId: form.team,
      numberOfInstances: instances,
      postgresql: { version: form.version },
      volume: { size: form.volumeSize },
      ...(form.pooler ? { enableConnectionPooler: true } : {}),
      ...(Object.keys(users).length > 0 ? { users } : {}),
      ...(Object.keys(databases).length > 0 ? { databases } : {}),
    },
  };
  return { manifest, problems };
}

/** The form for editing an existing cluster. */
export function formFromManifest(c: Postgresql): ClusterForm {
  const users = Object.entries(c.spec.users ?? {}).map(([name, flags]) => `${name}: ${(flags ?? []).join(', ')}`.trim());
  const databases = Object.entries(c.spec.databases ?? {}).map(([db, owner]) => `${db}: ${owner}`);
  return {
    namespace: c.metadata.namespace ?? 'default',
    name: c.metadata.name ?? '',
    team: c.spec.teamId,
    version: c.spec.postgresql?.version ?? '',
    instances: String(c.spec.numberOfInstances),
    volumeSize: c.spec.volume?.size ?? '',
    pooler: c.spec.enableConnectionPooler === true,
    users: users.join('\n'),
    databases: databases.join('\n'),
  };
}
