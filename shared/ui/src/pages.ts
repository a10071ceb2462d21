// The UI's pages. Only what the API server says about clusters, pods and Events; no Secret is read,
// and env values of a manifest are not shown (they may hold credentials).
import type { ValidationError } from '@pgfn/builder';
import { stringify } from 'yaml';
import { CSRF_FIELD } from './csrf.js';
import type { ClusterForm, FormProblem } from './form.js';
import { h, layout, type Html } from './html.js';
import type { ClusterSummary } from './summary.js';

const statusBadge = (s: string): Html => h`<span class="status ${s === 'Running' ? 's-Running' : 's-other'}">${s}</span>`;
const table = (id: string, heads: readonly string[], rows: readonly (readonly unknown[])[]): Html =>
  h`<table id="${id}"><thead><tr>${heads.map((x) => h`<th>${x}</th>`)}</tr></thead>
<tbody>${rows.map((r) => h`<tr>${r.map((c) => h`<td>${c}</td>`)}</tr>`)}</tbody></table>`;
const clusterHref = (c: { namespace: string; name: string }): string =>
  `/clusters/${encodeURIComponent(c.namespace)}/${encodeURIComponent(c.name)}`;

const short = (text: string, max = 160): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function listPage(clusters: readonly ClusterSummary[]): string {
  const rows = clusters.map(
    (c) => h`<tr data-cluster="${c.namespace}/${c.name}">
<td>${c.namespace}</td><td><a href="${clusterHref(c)}">${c.name}</a></td><td>${c.team}</td><td>${c.version}</td>
<td>${statusBadge(c.status)}</td>
<td>${c.pods.map((p) => h`<div class="nowrap">${p.name} <b>${p.role || '–'}</b> ${p.phase}</div>`)}</td>
<td>${c.pooler.enabled ? `${c.pooler.running}/${c.pooler.pods} running` : 'off'}</td>
<td>${c.lastVerifiedBackup === undefined ? 'never' : c.lastVerifiedBackup.time}</td>
<td>${c.conditions.map((x) => h`<div>${x.type}=${x.status}</div>`)}</td>
<td>${c.events[0] === undefined ? '' : h`<div>${c.events[0].reason}: ${short(c.events[0].message)}</div>`}</td></tr>`,
  );
  return layout(
    'Clusters',
    h`<h1>Clusters <span class="small" id="count">${clusters.length} in all namespaces</span></h1>
<table id="clusters"><thead><tr><th>Namespace</th><th>Name</th><th>Team</th><th>Version</th><th>Status</th><th>Pods and roles</th>
<th>Pooler</th><th>Last verified backup</th><th>Conditions</th><th>Latest Event</th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}

export function clusterPage(c: ClusterSummary, spec: unknown): string {
  return layout(
    `${c.namespace}/${c.name}`,
    h`<h1>${c.namespace}/${c.name} ${statusBadge(c.status)}</h1>
<p>Team ${c.team} · PostgreSQL ${c.version} · ${c.instances} instances · <a href="${clusterHref(c)}/edit">Edit</a></p>
<h2>Pods</h2>${table(
      'pods',
      ['Pod', 'Role', 'Phase', 'Ready', 'IP'],
      c.pods.map((p) => [p.name, p.role, p.phase, p.ready ? 'yes' : 'no', p.ip]),
    )}
<h2>Connection pooler</h2><p id="pooler">${c.pooler.enabled ? `${c.pooler.running} of ${c.pooler.pods} pods running` : 'not enabled'}</p>
<h2>Last verified backup</h2><p id="backup">${
      c.lastVerifiedBackup === undefined ? 'no verified backup yet' : `${c.lastVerifiedBackup.time}: ${c.lastVerifiedBackup.message}`
    }</p>
<h2>Conditions</h2>${table(
      'conditions',
      ['Type', 'Status', 'Reason', 'Message', 'Since'],
      c.conditions.map((x) => [x.type, x.status, x.reason, x.message, x.lastTransitionTime]),
    )}
<h2>Recent Events</h2>${table(
      'events',
      ['Time', 'Type', 'Reason', 'Message', 'From'],
      c.events.map((e) => [e.time, e.type, e.reason, e.message, e.component]),
    )}
<h2>Manifest spec</h2><pre id="spec">${stringify(withoutEnvValues(spec))}</pre>`,
  );
}

export interface FormPageOptions {
  readonly form: ClusterForm;
  readonly csrf: string;
  readonly editing: boolean;
  readonly problems?: readonly FormProblem[];
  readonly errors?: readonly ValidationError[];
  readonly preview?: string;
  /** Why a write was refused (identity, API server). */
  readonly refused?: string;
}

export function formPage(o: FormPageOptions): string {
  const f = o.form;
  const bad = [
    ...(o.problems ?? []).map((p) => `${p.field}: ${p.message}`),
    ...(o.errors ?? []).filter((e) => e.severity === 'error').map((e) => `${e.path}: ${e.message}`),
  ];
  const warnings = (o.errors ?? []).filter((e) => e.severity === 'warning').map((e) => `${e.path}: ${e.message}`);
  const errorBox = h`<div class="errors" id="errors"><b>The manifest is not valid:</b><ul>${bad.map((e) => h`<li>${e}</li>`)}</ul></div>`;
  const warningBox = h`<div class="warnings" id="warnings"><ul>${warnings.map((e) => h`<li>${e}</li>`)}</ul></div>`;
  const preview = h`<h2>Preview (what pgfn will create; passwords are placeholders)</h2><pre id="preview">${o.preview}</pre>`;
  const field = (name: keyof ClusterForm, label: string, readonly = false): Html =>
    h`<label>${label} <input type="text" name="${name}" value="${String(f[name])}"${readonly ? h` readonly` : h``}></label>`;
  return layout(
    o.editing ? `Edit ${f.namespace}/${f.name}` : 'Create a cluster',
    h`<h1>${o.editing ? `Edit ${f.namespace}/${f.name}` : 'Create a cluster'}</h1>
${o.refused === undefined ? '' : h`<div class="errors" id="refused">${o.refused}</div>`}
${bad.length === 0 ? '' : errorBox}
${warnings.length === 0 ? '' : warningBox}
<form method="post" action="/preview" id="cluster-form">
<input type="hidden" name="${CSRF_FIELD}" value="${o.csrf}"><input type="hidden" name="editing" value="${o.editing ? '1' : ''}">
${field('namespace', 'Namespace', o.editing)}${field('name', 'Name (team-something)', o.editing)}${field('team', 'Team')}
${field('version', 'PostgreSQL version')}${field('instances', 'Instances')}${field('volumeSize', 'Volume size')}
<label><input type="checkbox" name="pooler"${f.pooler ? h` checked` : h``}> Connection pooler</label>
<label>Users (one per line, <code>role: flag, flag</code>)<br><textarea name="users" rows="3">${f.users}</textarea></label>
<label>Databases (one per line, <code>database: owner</code>)<br><textarea name="databases" rows="3">${f.databases}</textarea></label>
<button type="submit" id="preview-button">Preview</button>
<button type="submit" formaction="/apply" id="apply-button">Apply</button>
</form>
${o.preview === undefined || o.preview === '' ? '' : preview}`,
  );
}

export function errorPage(status: number, message: string): string {
  return layout(`Error ${status}`, h`<h1>Error ${status}</h1><p class="errors" id="error">${message}</p>`);
}

/** The spec with every env entry's value hidden (valueFrom names are kept: they are references). */
function withoutEnvValues(spec: unknown): unknown {
  if (Array.isArray(spec)) return spec.map(withoutEnvValues);
  if (spec === null || typeof spec !== 'object') return spec;
  return Object.fromEntries(
    Object.entries(spec).map(([k, v]) => [
      k,
      k === 'env' && Array.isArray(v)
        ? v.map((e: Record<string, unknown>) => ('value' in e ? { ...e, value: '(hidden)' } : e))
        : withoutEnvValues(v),
    ]),
  );
}
