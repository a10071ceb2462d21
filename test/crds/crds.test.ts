import { type RequestOptions, request } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { expect } from 'chai';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, statusOf } from '../support/kube.js';
import { CRDS_DIR, CRD_FILES, type Manifest, readCrd, readExamples, rewriteEmbeddedSchemas, schemaAt } from './crd-files.js';
import { ensureCrds } from './install.js';
import { EMBEDDINGS, definitionsOf, embeddedSchema, type Schema } from './k8s-schemas.js';

const GROUP = 'acid.zalan.do';
const VERSION = 'v1';
const PLURALS: Record<string, string> = {
  postgresql: 'postgresqls',
  OperatorConfiguration: 'operatorconfigurations',
  PostgresTeam: 'postgresteams',
};
/** The part of each kind that carries its content (OperatorConfiguration has no spec). */
const BODY_KEY: Record<string, string> = { postgresql: 'spec', OperatorConfiguration: 'configuration', PostgresTeam: 'spec' };
// Spec fields complete.yaml leaves out on purpose (see the comment at its top).
const NOT_IN_COMPLETE = ['standby', 'init_containers', 'pod_priority_class_name', 'useLoadBalancer', 'replicaLoadBalancer'];

type Json = Record<string, unknown>;

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function pluralOf(m: Manifest): string {
  const plural = PLURALS[m.kind];
  if (plural === undefined) throw new Error(`example of unknown kind ${m.kind}`);
  return plural;
}

/** The apiserver's answer to a failed call: HTTP code, Status reason and message. */
function failureOf(err: unknown): { code: number | undefined; reason: string; message: string } {
  const raw = (err as { body?: unknown }).body;
  let body: { reason?: string; message?: string } = {};
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      body = { message: raw };
    }
  } else if (typeof raw === 'object' && raw !== null) {
    body = raw;
  }
  return { code: statusOf(err), reason: body.reason ?? '', message: body.message ?? String(err) };
}

/** Every default declared anywhere in a schema, as dotted paths ("users.super_username"). */
function defaultedPaths(node: unknown, prefix: string): string[] {
  if (typeof node !== 'object' || node === null) return [];
  const schema = node as Schema;
  const here = schema['default'] !== undefined && prefix !== '' ? [prefix] : [];
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  return [...here, ...Object.entries(properties).flatMap(([k, v]) => defaultedPaths(v, prefix === '' ? k : `${prefix}.${k}`))];
}

function hasPath(value: unknown, path: string): boolean {
  let node: unknown = value;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || !(key in node)) return false;
    node = (node as Json)[key];
  }
  return true;
}

/** GET on the apiserver with the admin identity; used for what the typed client does not cover. */
async function getRaw(kc: k8s.KubeConfig, path: string): Promise<unknown> {
  const server = new URL(kc.getCurrentCluster()?.server ?? '');
  const options: RequestOptions = {
    hostname: server.hostname,
    port: server.port,
    path,
    method: 'GET',
    headers: { Accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        data += chunk;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${data.slice(0, 300)}`));
        else resolve(JSON.parse(data));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('crds/: files', () => {
  const examples = readExamples();

  it('holds one CRD per file and the kustomization lists all three', async () => {
    for (const file of CRD_FILES) expect(readCrd(file).kind, file).to.equal('CustomResourceDefinition');
    const built = await kubectlRun(binaries().kubectl, '/dev/null', ['kustomize', CRDS_DIR]);
    const names = [...built.matchAll(/^ {2}name: (\S+)$/gm)].map((m) => m[1]);
    expect(names).to.have.members(['postgresqls.acid.zalan.do', 'operatorconfigurations.acid.zalan.do', 'postgresteams.acid.zalan.do']);
  });

  it('names every postgresql example after its team, without a namespace', () => {
    const clusters = [...examples].filter(([, m]) => m.kind === 'postgresql');
    expect(clusters.map(([f]) => f)).to.include.members([
      'minimal.yaml',
      'complete.yaml',
      'standby.yaml',
      'clone-basebackup.yaml',
      'clone-pitr.yaml',
      'pooler.yaml',
      'logical-backup.yaml',
      'tls.yaml',
      'sidecars.yaml',
    ]);
    for (const [file, m] of examples) {
      expect(m.metadata.namespace, file).to.equal(undefined);
      if (m.kind === 'postgresql') expect(m.metadata.name, file).to.match(new RegExp(`^${String((m['spec'] as Json)['teamId'])}-`));
    }
  });

  it('uses every spec field of the postgresql CRD in complete.yaml', () => {
    const fields = Object.keys(schemaAt(readCrd('postgresql.crd.yaml'), ['properties', 'spec', 'properties']) as Json);
    const used = Object.keys(examples.get('complete.yaml')?.['spec'] as Json);
    expect(used).to.have.members(fields.filter((f) => !NOT_IN_COMPLETE.includes(f)));
  });

  it('spells out every default of the OperatorConfiguration CRD in operatorconfiguration.yaml', () => {
    const config = examples.get('operatorconfiguration.yaml');
    expect(config?.metadata.name).to.equal('pgfn-default-configuration');
    const defaulted = defaultedPaths(schemaAt(readCrd('operatorconfiguration.crd.yaml'), ['properties', 'configuration']), '');
    expect(defaulted.length).to.be.greaterThan(60);
    // The apiserver defaults a field only inside an object that is present, so that is what must match.
    const parentPresent = (p: string): boolean => !p.includes('.') || hasPath(config?.['configuration'], p.slice(0, p.lastIndexOf('.')));
    expect(defaulted.filter((p) => parentPresent(p) && !hasPath(config?.['configuration'], p))).to.deep.equal([]);
  });
});

describe('crds/: on the apiserver', () => {
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let ns: { name: string; cleanup: () => Promise<void> };
  const examples = readExamples();
  const minimal = examples.get('minimal.yaml') as Manifest;

  async function create(m: Manifest, name?: string): Promise<Json> {
    const body = clone(m);
    if (name !== undefined) body.metadata.name = name;
    return (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: pluralOf(m),
      body,
      fieldValidation: 'Strict',
    })) as Json;
  }

  async function read(m: Manifest, name = m.metadata.name): Promise<Json> {
    return (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: pluralOf(m),
      name,
    })) as Json;
  }

  before(async () => {
    kc = adminConfig();
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'crds');
  });
  after(async () => {
    await ns?.cleanup();
  });

  it("embeds the apiserver's own schemas for Kubernetes types", async () => {
    const definitions = definitionsOf(await getRaw(kc, '/openapi/v3/api/v1'));
    if (process.env['PGFN_UPDATE_CRDS'] === '1') rewriteEmbeddedSchemas(definitions);
    for (const e of EMBEDDINGS) {
      expect(schemaAt(readCrd(e.crd), e.path), `${e.crd} ${e.path.join('.')} (rerun with PGFN_UPDATE_CRDS=1 to regenerate)`).to.deep.equal(
        embeddedSchema(definitions, e.definition, e.description),
      );
    }
  });

  it('applies the CRDs again without change (idempotent install)', async () => {
    const first = await ensureCrds(kc);
    const second = await ensureCrds(kc);
    // generation moves only when a spec changes (other files' applies may still touch managedFields).
    expect(second.map((c) => c.metadata?.generation)).to.deep.equal(first.map((c) => c.metadata?.generation));
    expect(second.map((c) => c.spec)).to.deep.equal(first.map((c) => c.spec));
  });

  it('serves postgresql with shortName pg, category all, a status subresource and the upstream printer columns', async () => {
    const crd = await kc.makeApiClient(k8s.ApiextensionsV1Api).readCustomResourceDefinition({ name: 'postgresqls.acid.zalan.do' });
    expect(crd.spec.names).to.include({ kind: 'postgresql', plural: 'postgresqls', singular: 'postgresql' });
    expect(crd.spec.names.shortNames).to.deep.equal(['pg']);
    expect(crd.spec.names.categories).to.deep.equal(['all']);
    const v1 = crd.spec.versions.find((v) => v.name === 'v1');
    expect(v1?.subresources?.status).to.deep.equal({});
    expect(v1?.additionalPrinterColumns?.map((c) => [c.name, c.type, c.jsonPath])).to.deep.equal([
      ['Team', 'string', '.spec.teamId'],
      ['Version', 'string', '.spec.postgresql.version'],
      ['Pods', 'integer', '.spec.numberOfInstances'],
      ['Volume', 'string', '.spec.volume.size'],
      ['CPU-Request', 'string', '.spec.resources.requests.cpu'],
      ['Memory-Request', 'string', '.spec.resources.requests.memory'],
      ['Age', 'date', '.metadata.creationTimestamp'],
      ['Status', 'string', '.status.PostgresClusterStatus'],
    ]);
  });

  it('serves OperatorConfiguration (opconfig) and PostgresTeam (pgteam) with their names and columns', async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const opconfig = await ext.readCustomResourceDefinition({ name: 'operatorconfigurations.acid.zalan.do' });
    expect(opconfig.spec.names).to.include({ kind: 'OperatorConfiguration', plural: 'operatorconfigurations' });
    expect(opconfig.spec.names.shortNames).to.deep.equal(['opconfig']);
    expect(opconfig.spec.versions[0]?.additionalPrinterColumns?.map((c) => [c.name, c.jsonPath])).to.deep.equal([
      ['Image', '.configuration.docker_image'],
      ['Cluster-Label', '.configuration.kubernetes.cluster_name_label'],
      ['Service-Account', '.configuration.kubernetes.pod_service_account_name'],
      ['Min-Instances', '.configuration.min_instances'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
    const team = await ext.readCustomResourceDefinition({ name: 'postgresteams.acid.zalan.do' });
    expect(team.spec.names).to.include({ kind: 'PostgresTeam', plural: 'postgresteams' });
    expect(team.spec.names.shortNames).to.deep.equal(['pgteam']);
  });

  it('stores every example exactly as sent (strict field validation, nothing pruned or rewritten)', async () => {
    expect(examples.size).to.be.greaterThanOrEqual(11);
    for (const [file, m] of examples) {
      const key = BODY_KEY[m.kind] ?? 'spec';
      const created = await create(m).catch((err: unknown) => {
        throw new Error(`${file}: ${failureOf(err).message}`);
      });
      expect(created[key], `${file} as created`).to.deep.equal(m[key]);
      expect((await read(m))[key], `${file} as read back`).to.deep.equal(m[key]);
    }
  });

  it('lists clusters through the pg short name with the printer columns filled in', async () => {
    const out = await kubectlRun(binaries().kubectl, testEnv().kubeconfig, [
      'get',
      'pg',
      '-n',
      ns.name,
      '--cache-dir',
      `${testEnv().dir}/kubectl-cache`,
    ]);
    const [header, ...rows] = out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    expect(header).to.deep.equal(['NAME', 'TEAM', 'VERSION', 'PODS', 'VOLUME', 'CPU-REQUEST', 'MEMORY-REQUEST', 'AGE', 'STATUS']);
    const complete = rows.find((r) => r[0] === 'acid-complete');
    expect(complete?.slice(0, 7)).to.deep.equal(['acid-complete', 'acid', '18', '3', '2Gi', '250m', '512Mi']);
  });

  it('keeps status apart from spec and stores observedGeneration and conditions', async () => {
    const withStatus = { ...clone(minimal), status: { PostgresClusterStatus: 'Running' } } as Manifest;
    const created = await create(withStatus, 'acid-status');
    expect(created['status'], 'status sent with create is dropped').to.equal(undefined);
    const status = {
      PostgresClusterStatus: 'Running',
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: '2026-11-22T10:00:00Z',
          reason: 'ClusterRunning',
          message: 'all 2 pods are ready',
        },
        { type: 'BackupVerified', status: 'Unknown', lastTransitionTime: '2026-11-22T10:00:00Z', reason: 'NoBackupYet', message: '' },
      ],
    };
    const ref = { group: GROUP, version: VERSION, namespace: ns.name, plural: 'postgresqls', name: 'acid-status' };
    await custom.replaceNamespacedCustomObjectStatus({ ...ref, body: { ...created, status } });
    const after = await read(minimal, 'acid-status');
    expect(after['status']).to.deep.equal(status);
    expect((after['metadata'] as Json)['generation'], 'a status write does not bump the generation').to.equal(1);
    const badStatus = { ...status, conditions: [{ ...status.conditions[0], status: 'Maybe' }] };
    const err = await custom
      .replaceNamespacedCustomObjectStatus({ ...ref, body: { ...after, status: badStatus } })
      .then(() => undefined, failureOf);
    expect(err?.code).to.equal(422);
    expect(err?.message).to.include('status.conditions[0].status');
  });

  // Each case breaks one rule of the schema; the apiserver must answer 422 Invalid naming the field.
  // Unknown fields are refused by strict field validation as 400 BadRequest instead.
  const invalid: {
    what: string;
    kind?: 'postgresql' | 'OperatorConfiguration' | 'PostgresTeam';
    mutate: (body: Json) => void;
    field: string;
    code?: number;
  }[] = [
    {
      what: 'a PostgreSQL version outside the enum',
      field: 'spec.postgresql.version',
      mutate: (b) => {
        spec(b)['postgresql'] = { version: '13' };
      },
    },
    {
      what: 'a version given as a number',
      field: 'spec.postgresql.version',
      mutate: (b) => {
        spec(b)['postgresql'] = { version: 17 };
      },
    },
    {
      what: 'an unknown user flag',
      field: 'spec.users.app_owner[1]',
      mutate: (b) => {
        spec(b)['users'] = { app_owner: ['createdb', 'superman'] };
      },
    },
    {
      what: 'a user flag in mixed case',
      field: 'spec.users.app_owner[0]',
      mutate: (b) => {
        spec(b)['users'] = { app_owner: ['CreateDB'] };
      },
    },
    {
      what: 'a cpu request with four decimals',
      field: 'spec.resources.requests.cpu',
      mutate: (b) => {
        spec(b)['resources'] = { requests: { cpu: '0.2505' } };
      },
    },
    {
      what: 'a cpu limit with a unit',
      field: 'spec.resources.limits.cpu',
      mutate: (b) => {
        spec(b)['resources'] = { limits: { cpu: '1Gi' } };
      },
    },
    {
      what: 'a memory request that is not a quantity',
      field: 'spec.resources.requests.memory',
      mutate: (b) => {
        spec(b)['resources'] = { requests: { memory: 'lots' } };
      },
    },
    {
      what: 'a malformed volume size',
      field: 'spec.volume.size',
      mutate: (b) => {
        spec(b)['volume'] = { size: '1 GB' };
      },
    },
    {
      what: 'a maintenance window with hour 25',
      field: 'spec.maintenanceWindows[0]',
      mutate: (b) => {
        spec(b)['maintenanceWindows'] = ['Mon:25:00-26:00'];
      },
    },
    {
      what: 'a maintenance window with an unknown weekday',
      field: 'spec.maintenanceWindows[1]',
      mutate: (b) => {
        spec(b)['maintenanceWindows'] = ['01:00-02:00', 'Monday:01:00-02:00'];
      },
    },
    {
      what: 'an IPv4 source range with a /33 prefix',
      field: 'spec.allowedSourceRanges[0]',
      mutate: (b) => {
        spec(b)['allowedSourceRanges'] = ['10.0.0.0/33'];
      },
    },
    {
      what: 'a source range without a prefix length',
      field: 'spec.allowedSourceRanges[1]',
      mutate: (b) => {
        spec(b)['allowedSourceRanges'] = ['fd01::/48', '192.168.0.1'];
      },
    },
    {
      what: 'a missing teamId',
      field: 'spec.teamId',
      mutate: (b) => {
        delete spec(b)['teamId'];
      },
    },
    {
      what: 'a missing numberOfInstances',
      field: 'spec.numberOfInstances',
      mutate: (b) => {
        delete spec(b)['numberOfInstances'];
      },
    },
    {
      what: 'a missing volume',
      field: 'spec.volume',
      mutate: (b) => {
        delete spec(b)['volume'];
      },
    },
    {
      what: 'a missing volume size',
      field: 'spec.volume.size',
      mutate: (b) => {
        spec(b)['volume'] = { storageClass: 'standard' };
      },
    },
    {
      what: 'a missing postgresql section',
      field: 'spec.postgresql',
      mutate: (b) => {
        delete spec(b)['postgresql'];
      },
    },
    {
      what: 'a missing spec',
      field: 'spec',
      mutate: (b) => {
        delete b['spec'];
      },
    },
    {
      what: 'a negative numberOfInstances',
      field: 'spec.numberOfInstances',
      mutate: (b) => {
        spec(b)['numberOfInstances'] = -1;
      },
    },
    {
      what: 'a clone timestamp without a UTC offset',
      field: 'spec.clone.timestamp',
      mutate: (b) => {
        spec(b)['clone'] = { cluster: 'acid-minimal', timestamp: '2026-11-20T23:30:00' };
      },
    },
    {
      what: 'a clone uid that is not a UUID',
      field: 'spec.clone.uid',
      mutate: (b) => {
        spec(b)['clone'] = { cluster: 'acid-minimal', uid: 'not-a-uid' };
      },
    },
    {
      what: 'a clone without a source cluster',
      field: 'spec.clone.cluster',
      mutate: (b) => {
        spec(b)['clone'] = { s3_wal_path: 's3://x' };
      },
    },
    {
      what: 'a standby with both WAL paths',
      field: 'spec.standby',
      mutate: (b) => {
        spec(b)['standby'] = { s3_wal_path: 's3://a', gs_wal_path: 'gs://b' };
      },
    },
    {
      what: 'an empty standby section',
      field: 'spec.standby',
      mutate: (b) => {
        spec(b)['standby'] = {};
      },
    },
    {
      what: 'a pooler mode outside the enum',
      field: 'spec.connectionPooler.mode',
      mutate: (b) => {
        spec(b)['connectionPooler'] = { mode: 'statement' };
      },
    },
    {
      what: 'no pooler instances',
      field: 'spec.connectionPooler.numberOfInstances',
      mutate: (b) => {
        spec(b)['connectionPooler'] = { numberOfInstances: 0 };
      },
    },
    {
      what: 'iops above the gp3 maximum',
      field: 'spec.volume.iops',
      mutate: (b) => {
        spec(b)['volume'] = { size: '1Gi', iops: 90000 };
      },
    },
    {
      what: 'a logical backup schedule that is not five cron fields',
      field: 'spec.logicalBackupSchedule',
      mutate: (b) => {
        spec(b)['logicalBackupSchedule'] = '@daily';
      },
    },
    {
      what: 'a tls section without secretName',
      field: 'spec.tls.secretName',
      mutate: (b) => {
        spec(b)['tls'] = { caFile: 'ca.crt' };
      },
    },
    {
      what: 'an additional volume without volumeSource',
      field: 'spec.additionalVolumes[0].volumeSource',
      mutate: (b) => {
        spec(b)['additionalVolumes'] = [{ name: 'x', mountPath: '/x' }];
      },
    },
    {
      what: 'a stream without tables',
      field: 'spec.streams[0].tables',
      mutate: (b) => {
        spec(b)['streams'] = [{ applicationId: 'a', database: 'd' }];
      },
    },
    {
      what: 'an init container without a name',
      field: 'spec.initContainers[0].name',
      mutate: (b) => {
        spec(b)['initContainers'] = [{ image: 'busybox' }];
      },
    },
    {
      what: 'an unknown spec field',
      field: 'spec.numberOfInstance',
      code: 400,
      mutate: (b) => {
        spec(b)['numberOfInstance'] = 2;
      },
    },
    {
      what: 'an OperatorConfiguration without configuration',
      kind: 'OperatorConfiguration',
      field: 'configuration',
      mutate: (b) => {
        delete b['configuration'];
      },
    },
    {
      what: 'min_instances below -1',
      kind: 'OperatorConfiguration',
      field: 'configuration.min_instances',
      mutate: (b) => {
        (b['configuration'] as Json)['min_instances'] = -2;
      },
    },
    {
      what: 'an unknown storage_resize_mode',
      kind: 'OperatorConfiguration',
      field: 'configuration.kubernetes.storage_resize_mode',
      mutate: (b) => {
        (b['configuration'] as Json)['kubernetes'] = { storage_resize_mode: 'sometimes' };
      },
    },
    {
      what: 'a malformed default cpu request',
      kind: 'OperatorConfiguration',
      field: 'configuration.postgres_pod_resources.default_cpu_request',
      mutate: (b) => {
        (b['configuration'] as Json)['postgres_pod_resources'] = { default_cpu_request: '100 m' };
      },
    },
    {
      what: 'team members given as a string',
      kind: 'PostgresTeam',
      field: 'spec.additionalMembers.acid',
      mutate: (b) => {
        spec(b)['additionalMembers'] = { acid: 'elephant' };
      },
    },
  ];

  function spec(body: Json): Json {
    return body['spec'] as Json;
  }

  function baseOf(kind: string): Manifest {
    const file =
      { postgresql: 'minimal.yaml', OperatorConfiguration: 'operatorconfiguration.yaml', PostgresTeam: 'postgresteam.yaml' }[kind] ?? '';
    return examples.get(file) as Manifest;
  }

  for (const [i, c] of invalid.entries()) {
    const code = c.code ?? 422;
    it(`rejects ${c.what} with ${code} ${code === 422 ? 'Invalid' : 'BadRequest'} naming ${c.field}`, async () => {
      const body = clone(baseOf(c.kind ?? 'postgresql'));
      c.mutate(body);
      const err = await create(body, `acid-invalid-${i}`).then(() => undefined, failureOf);
      expect(err, 'the apiserver accepted the object').to.not.equal(undefined);
      expect(err?.code, err?.message).to.equal(code);
      expect(err?.reason).to.equal(code === 422 ? 'Invalid' : 'BadRequest');
      expect(err?.message).to.include(c.field);
    });
  }

  it('accepts what upstream accepts at the edges: both flag cases, IPv6 ranges, leap seconds, fractional timestamps', async () => {
    const body = clone(minimal);
    Object.assign(body['spec'] as Json, {
      users: { a: ['SUPERUSER', 'nologin', 'BYPASSRLS', 'noreplication'], b: [] },
      allowedSourceRanges: ['0.0.0.0/0', '::/0', '2001:db8::/32', 'fe80::1:2:3:4/128'],
      maintenanceWindows: [' 1:5-2:30 ', 'Sun:23:00-23:59'],
      resources: { requests: { cpu: '2', memory: '1e3' }, limits: { cpu: '0.125', memory: '1.5Gi' } },
      clone: { cluster: 'acid-minimal', timestamp: '2026-06-30T23:59:60.123456-11:30' },
      standby: { gs_wal_path: 'gs://bucket/wal', standby_host: 'primary.example' },
    });
    const created = await create(body, 'acid-edges');
    expect(created['spec']).to.deep.equal(body['spec']);
  });

  it('still stores the spellings upstream dropped, so older manifests and configurations apply', async () => {
    const cluster = clone(minimal);
    Object.assign(cluster['spec'] as Json, {
      init_containers: [{ name: 'old-init', image: 'busybox:1.37' }],
      pod_priority_class_name: 'old-priority',
      useLoadBalancer: true,
      replicaLoadBalancer: false,
      users: { app_owner: null },
    });
    expect((await create(cluster, 'acid-old-spellings'))['spec']).to.deep.equal(cluster['spec']);

    const config = clone(examples.get('operatorconfiguration.yaml') as Manifest);
    const settings = config['configuration'] as Json;
    settings['enable_crd_validation'] = true;
    settings['aws_or_gcp'] = { aws_region: 'eu-central-1', enable_ebs_gp3_migration: false, enable_ebs_gp3_migration_max_size: 1000 };
    // The operator reads a list of containers here; upstream's schema wrongly demands an object.
    settings['sidecars'] = [{ name: 'global-sidecar', image: 'busybox:1.37', ports: [{ containerPort: 80, protocol: 'TCP' }] }];
    expect((await create(config, 'old-configuration'))['configuration']).to.deep.equal(settings);
  });
});
