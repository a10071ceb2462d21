// Re-expresses upstream's TestTLS, TestSidecars, TestShmVolume, TestAdditionalVolume, TestNodeAffinity,
// TestPodAffinity, TestTopologySpreadConstraints, TestVolumeSelector and TestGetNumberOfInstances
// (pkg/cluster/k8sres_test.go) against buildStatefulSet, plus the StatefulSet's own shape.
import { expect } from 'chai';
import type { V1NodeAffinity, V1StatefulSet } from '@kubernetes/client-node';
import type { AdditionalVolume, OperatorConfig, PostgresSpec } from '@pgfn/api';
import { numberOfInstances } from '../../shared/builder/src/instances.js';
import { POD_TEMPLATE_HASH_ANNOTATION } from '../../shared/builder/src/labels.js';
import { podTemplateHash } from '../../shared/builder/src/pod-template-hash.js';
import { buildStatefulSet, buildStatefulSetResult } from '../../shared/builder/src/statefulset.js';
import { container, envValue, makeCluster, makeConfig } from './sts-fixtures.js';

const selectorLabels = { application: 'spilo', 'cluster-name': 'acid-test-cluster' };
const podLabels = { ...selectorLabels, team: 'acid' };

function build(spec: Partial<PostgresSpec> = {}, config: Partial<OperatorConfig> = {}): V1StatefulSet {
  return buildStatefulSet(makeCluster(spec), makeConfig(config));
}

describe('buildStatefulSet', () => {
  describe('the StatefulSet', () => {
    const sts = build();
    it('is named and labelled after the cluster and selects its pods', () => {
      expect(sts.apiVersion).to.equal('apps/v1');
      expect(sts.kind).to.equal('StatefulSet');
      expect(sts.metadata?.name).to.equal('acid-test-cluster');
      expect(sts.metadata?.namespace).to.equal('default');
      expect(sts.metadata?.labels).to.deep.equal(podLabels);
      expect(sts.spec?.selector).to.deep.equal({ matchLabels: selectorLabels });
      expect(sts.spec?.serviceName).to.equal('acid-test-cluster');
      expect(sts.spec?.template.metadata?.labels).to.deep.equal(podLabels);
    });

    it('leaves pod replacement to the operator and retains volumes by default', () => {
      expect(sts.spec?.replicas).to.equal(2);
      expect(sts.spec?.updateStrategy).to.deep.equal({ type: 'OnDelete' });
      expect(sts.spec?.podManagementPolicy).to.equal('OrderedReady');
      expect(sts.spec?.persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    });

    it('stores the pod-template hash on the StatefulSet and its template', () => {
      const hash = podTemplateHash(sts.spec!.template);
      expect(sts.metadata?.annotations?.[POD_TEMPLATE_HASH_ANNOTATION]).to.equal(hash);
      expect(sts.spec?.template.metadata?.annotations?.[POD_TEMPLATE_HASH_ANNOTATION]).to.equal(hash);
    });

    const policies: [string, string, Record<string, string>, string, string][] = [
      ['parallel', 'Parallel', { when_deleted: 'delete', when_scaled: 'retain' }, 'Delete', 'Retain'],
      ['ordered_ready', 'OrderedReady', { when_deleted: 'retain', when_scaled: 'delete' }, 'Retain', 'Delete'],
    ];
    for (const [policy, expected, retention, whenDeleted, whenScaled] of policies) {
      it(`maps pod_management_policy ${policy} and retention ${JSON.stringify(retention)}`, () => {
        const s = build({}, { podManagementPolicy: policy, persistentVolumeClaimRetentionPolicy: retention });
        expect(s.spec?.podManagementPolicy).to.equal(expected);
        expect(s.spec?.persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted, whenScaled });
      });
    }

    it('rejects an unknown pod_management_policy', () => {
      expect(() => build({}, { podManagementPolicy: 'random' })).to.throw(/pod_management_policy: "random"/);
    });

    it('points at the CR as controller with enable_owner_references', () => {
      const s = build({}, { enableOwnerReferences: true });
      expect(s.metadata?.ownerReferences).to.deep.equal([
        {
          apiVersion: 'acid.zalan.do/v1',
          kind: 'postgresql',
          name: 'acid-test-cluster',
          uid: 'efd12e58-5786-11e8-b5a7-06148230260c',
          controller: true,
        },
      ]);
      expect(build().metadata?.ownerReferences).to.equal(undefined);
    });

    it('propagates inherited and downscaler annotations to the StatefulSet', () => {
      const cr = makeCluster({}, { annotations: { owner: 'me', 'downscaler/uptime': 'Mon-Fri', other: 'x' } });
      const s = buildStatefulSet(cr, makeConfig({ inheritedAnnotations: ['owner'], downscalerAnnotations: ['downscaler/.*'] }));
      expect(s.metadata?.annotations).to.include({ owner: 'me', 'downscaler/uptime': 'Mon-Fri' });
      expect(s.metadata?.annotations).not.to.have.property('other');
    });
  });

  describe('the data volume claim', () => {
    const selectors = [
      ['has no selector', undefined],
      ['has a simple label selector', { matchLabels: { environment: 'unittest' } }],
      [
        'has a full selector',
        {
          matchLabels: { environment: 'unittest' },
          matchExpressions: [{ key: 'flavour', operator: 'In', values: ['banana', 'chocolate'] }],
        },
      ],
    ] as const;
    for (const [name, selector] of selectors) {
      it(`${name} when the manifest's volume ${selector === undefined ? 'has none' : 'sets one'}`, () => {
        const volume = { size: '1G', ...(selector === undefined ? {} : { selector: structuredClone(selector) as never }) };
        const claim = build({ volume }).spec?.volumeClaimTemplates?.find((c) => c.metadata?.name === 'pgdata');
        expect(claim?.spec?.selector).to.deep.equal(selector);
      });
    }

    it('requests the manifest size and storage class', () => {
      const claim = build({ volume: { size: '10Gi', storageClass: 'fast' } }).spec?.volumeClaimTemplates?.[0];
      expect(claim?.spec).to.deep.equal({
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '10Gi' } },
        volumeMode: 'Filesystem',
        storageClassName: 'fast',
      });
      expect(claim?.metadata?.labels).to.deep.equal(podLabels);
    });

    it('rejects a size that is not a quantity', () => {
      expect(() => build({ volume: { size: 'big' } })).to.throw(/spec\.volume\.size: "big"/);
    });
  });

  describe('the postgres container', () => {
    const sts = build({ dockerImage: 'spilo:custom' }, { enableReadinessProbe: true, additionalPodCapabilities: ['sys_nice'] });
    const pg = container(sts, 'postgres');
    it('runs the manifest image, or the configured one', () => {
      expect(pg.image).to.equal('spilo:custom');
      expect(container(build(), 'postgres').image).to.equal(makeConfig().dockerImage);
    });
    it('exposes Patroni, Postgres and the operator port', () => {
      expect(pg.ports).to.deep.equal([
        { containerPort: 8008, protocol: 'TCP' },
        { containerPort: 5432, protocol: 'TCP' },
        { containerPort: 8080, protocol: 'TCP' },
      ]);
    });
    it('probes Patroni /readiness when enabled', () => {
      expect(pg.readinessProbe).to.deep.equal({
        httpGet: { path: '/readiness', port: 8008, scheme: 'HTTP' },
        initialDelaySeconds: 6,
        periodSeconds: 10,
        timeoutSeconds: 5,
        successThreshold: 1,
        failureThreshold: 3,
      });
      expect(container(build(), 'postgres').readinessProbe).to.equal(undefined);
    });
    it('sets the security context from the configuration', () => {
      expect(pg.securityContext).to.deep.equal({
        allowPrivilegeEscalation: true,
        privileged: false,
        readOnlyRootFilesystem: false,
        capabilities: { add: ['SYS_NICE'] },
      });
    });
    it('mounts the data volume, with the manifest subPath expression', () => {
      const mounts = container(build({ volume: { size: '1G', subPath: '$(POD_NAME)', isSubPathExpr: true } }), 'postgres').volumeMounts;
      expect(mounts?.[0]).to.deep.equal({ name: 'pgdata', mountPath: '/home/postgres/pgdata', subPathExpr: '$(POD_NAME)' });
    });
    it('takes the liveness probe from the manifest before the configuration', () => {
      const probe = { httpGet: { path: '/liveness', port: 8008 } };
      expect(
        container(build({ livenessProbe: probe }, { livenessProbe: { tcpSocket: { port: 5432 } } }), 'postgres').livenessProbe,
      ).to.deep.equal(probe);
    });
  });

  describe('the pod', () => {
    it('runs as the configured service account, users and grace period', () => {
      const spec = build(
        { spiloFSGroup: 104 },
        { spiloRunasuser: 101, spiloRunasgroup: 103, spiloFsgroup: 103, podTerminateGracePeriod: 300 },
      ).spec?.template.spec;
      expect(spec?.serviceAccountName).to.equal('postgres-pod');
      expect(spec?.terminationGracePeriodSeconds).to.equal(300);
      expect(spec?.securityContext).to.deep.equal({ runAsUser: 101, runAsGroup: 103, fsGroup: 104 });
    });

    it('takes priority class and scheduler from the manifest, else the configuration', () => {
      expect(
        build({ podPriorityClassName: 'high', schedulerName: 'custom' }, { podPriorityClassName: 'low' }).spec?.template.spec,
      ).to.include({
        priorityClassName: 'high',
        schedulerName: 'custom',
      });
      expect(build({}, { podPriorityClassName: 'low' }).spec?.template.spec?.priorityClassName).to.equal('low');
    });

    it('takes tolerations from the manifest, else the configured one', () => {
      const manifest = [{ key: 'postgres', operator: 'Exists', effect: 'NoSchedule' }];
      expect(
        build({ tolerations: manifest }, { toleration: { key: 'x', operator: 'Exists' } }).spec?.template.spec?.tolerations,
      ).to.deep.equal(manifest);
      expect(build({}, { toleration: { key: 'x', operator: 'Exists' } }).spec?.template.spec?.tolerations).to.deep.equal([
        { key: 'x', operator: 'Exists' },
      ]);
      expect(build().spec?.template.spec?.tolerations).to.equal(undefined);
    });

    it('annotates pods with custom, manifest and IAM annotations', () => {
      const annotations = build(
        { podAnnotations: { a: 'manifest', b: 'b' } },
        { customPodAnnotations: { a: 'config', c: 'c' }, kubeIamRole: 'role' },
      ).spec?.template.metadata?.annotations;
      expect(annotations).to.include({ a: 'manifest', b: 'b', c: 'c', 'iam.amazonaws.com/role': 'role' });
    });

    it('passes init containers through', () => {
      const init = [{ name: 'init', image: 'busybox' }];
      expect(build({ initContainers: init }).spec?.template.spec?.initContainers).to.deep.equal(init);
    });
  });

  describe('TLS', () => {
    const sts = build(
      {
        tls: { secretName: 'my-secret', caFile: 'ca.crt' },
        // The manifest may already mount the same Secret at /tls: it is kept once.
        additionalVolumes: [
          { name: 'my-secret', mountPath: '/tls', volumeSource: { secret: { secretName: 'my-secret', defaultMode: 0o640 } } },
        ],
      },
      { spiloFsgroup: 103 },
    );
    const pg = container(sts, 'postgres');

    it('mounts the Secret at /tls, readable through the fsGroup', () => {
      expect(sts.spec?.template.spec?.securityContext?.fsGroup).to.equal(103);
      expect(sts.spec?.template.spec?.volumes).to.deep.include({
        name: 'my-secret',
        secret: { secretName: 'my-secret', defaultMode: 0o640 },
      });
      expect(pg.volumeMounts?.filter((m) => m.mountPath === '/tls')).to.deep.equal([{ name: 'my-secret', mountPath: '/tls' }]);
    });

    it('points Spilo at the certificate files', () => {
      expect(envValue(pg.env, 'SSL_CERTIFICATE_FILE')).to.equal('/tls/tls.crt');
      expect(envValue(pg.env, 'SSL_PRIVATE_KEY_FILE')).to.equal('/tls/tls.key');
      expect(envValue(pg.env, 'SSL_CA_FILE')).to.equal('/tls/ca.crt');
    });

    it('mounts a separate CA Secret at /tlsca', () => {
      const s = build({ tls: { secretName: 'tls', caSecretName: 'ca', caFile: 'root.crt', certificateFile: '/abs/cert.pem' } });
      const p = container(s, 'postgres');
      expect(envValue(p.env, 'SSL_CA_FILE')).to.equal('/tlsca/root.crt');
      expect(envValue(p.env, 'SSL_CERTIFICATE_FILE')).to.equal('/abs/cert.pem');
      expect(p.volumeMounts).to.deep.include({ name: 'ca', mountPath: '/tlsca' });
    });
  });

  describe('shm volume', () => {
    const cases: [string, boolean | undefined, boolean, boolean][] = [
      ['mounts it when the configuration enables it', undefined, true, true],
      ['does not mount it when the configuration disables it', undefined, false, false],
      ['mounts it when the manifest enables it', true, false, true],
      ['does not mount it when the manifest disables it, as documented', false, true, false],
    ];
    for (const [name, manifest, configured, mounted] of cases) {
      it(name, () => {
        const sts = build(manifest === undefined ? {} : { enableShmVolume: manifest }, { enableShmVolume: configured });
        const volume = sts.spec?.template.spec?.volumes?.find((v) => v.name === 'dshm');
        const mount = container(sts, 'postgres').volumeMounts?.find((m) => m.name === 'dshm');
        if (mounted) {
          expect(volume).to.deep.equal({ name: 'dshm', emptyDir: { medium: 'Memory' } });
          expect(mount).to.deep.equal({ name: 'dshm', mountPath: '/dev/shm' });
        } else {
          expect(volume).to.equal(undefined);
          expect(mount).to.equal(undefined);
        }
      });
    }
  });

  describe('additional volumes', () => {
    const emptyDir = { emptyDir: {} };
    const volumes: AdditionalVolume[] = [
      { name: 'test1', mountPath: '/test1', targetContainers: ['all'], volumeSource: emptyDir },
      { name: 'test2', mountPath: '/test2', targetContainers: ['sidecar'], volumeSource: emptyDir },
      { name: 'test3', mountPath: '/test3', targetContainers: [], volumeSource: emptyDir },
      { name: 'test4', mountPath: '/test4', targetContainers: null, volumeSource: emptyDir },
      { name: 'test5', mountPath: '/test5', subPath: 'subpath', volumeSource: emptyDir },
      { name: 'test6', mountPath: '/test6', subPath: '$(POD_NAME)', isSubPathExpr: true, volumeSource: emptyDir },
      { name: 'dup', mountPath: '/test1', volumeSource: emptyDir },
      { name: 'data', mountPath: '/home/postgres/pgdata', volumeSource: emptyDir },
    ];
    const result = buildStatefulSetResult(
      makeCluster({
        volume: { size: '1G', subPath: '$(POD_NAME)', isSubPathExpr: true },
        additionalVolumes: volumes,
        sidecars: [{ name: 'sidecar', image: 'test-image' }],
      }),
      makeConfig({ enableShmVolume: false }),
    );
    const sts = result.statefulSet;
    const table: [string, string[], string[], string[]][] = [
      [
        'postgres',
        ['pgdata', 'test1', 'test3', 'test4', 'test5', 'test6'],
        ['', '', '', '', 'subpath', ''],
        ['$(POD_NAME)', '', '', '', '', '$(POD_NAME)'],
      ],
      ['sidecar', ['pgdata', 'test1', 'test2'], ['', '', ''], ['$(POD_NAME)', '', '']],
    ];
    for (const [name, mounts, subPaths, exprs] of table) {
      it(`mounts the targeted volumes into the ${name} container`, () => {
        const m = container(sts, name).volumeMounts ?? [];
        expect(m.map((x) => x.name)).to.deep.equal(mounts);
        expect(m.map((x) => x.subPath ?? '')).to.deep.equal(subPaths);
        expect(m.map((x) => x.subPathExpr ?? '')).to.deep.equal(exprs);
      });
    }
    it('skips volumes on a taken path or over the data directory, with a warning', () => {
      expect(sts.spec?.template.spec?.volumes?.map((v) => v.name)).to.deep.equal(['test1', 'test2', 'test3', 'test4', 'test5', 'test6']);
      expect(result.warnings).to.have.length(2);
      expect(result.warnings[0]).to.contain('"dup"');
      expect(result.warnings[1]).to.contain('/home/postgres/pgdata');
    });
  });

  describe('sidecars', () => {
    const superSecret = { secretKeyRef: { name: 'postgres.acid-test-cluster.credentials.postgresql.acid.zalan.do', key: 'password' } };
    const injected = [
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'POSTGRES_USER', value: 'postgres' },
      { name: 'POSTGRES_PASSWORD', valueFrom: superSecret },
    ];
    const mounts = [{ name: 'pgdata', mountPath: '/home/postgres/pgdata' }];
    const res = (cpuReq: string, cpuLim: string, memReq: string, memLim: string) => ({
      limits: { cpu: cpuLim, memory: memLim },
      requests: { cpu: cpuReq, memory: memReq },
    });
    const sts = build(
      {
        postgresql: { version: '18', parameters: { max_connections: '100' } },
        sidecars: [
          { name: 'cluster-specific-sidecar', image: 'test-image' },
          {
            name: 'cluster-specific-sidecar-with-resources',
            image: 'test-image',
            resources: { requests: { cpu: '210m', memory: '0.8Gi' }, limits: { cpu: '510m', memory: '1.4Gi' } },
          },
          { name: 'replace-sidecar', image: 'override-image' },
        ],
      },
      {
        defaultCpuRequest: '200m',
        maxCpuRequest: '300m',
        defaultCpuLimit: '500m',
        defaultMemoryRequest: '0.7Gi',
        maxMemoryRequest: '1.0Gi',
        defaultMemoryLimit: '1.3Gi',
        sidecarDockerImages: { 'deprecated-global-sidecar': 'image:123' },
        sidecars: [
          { name: 'global-sidecar', image: 'test-image' },
          { name: 'replace-sidecar', image: 'replaced-image' },
        ],
        scalyrApiKey: 'abc',
        scalyrImage: 'scalyr-image',
        scalyrCpuRequest: '220m',
        scalyrCpuLimit: '520m',
        scalyrMemoryRequest: '0.9Gi',
        scalyrMemoryLimit: '',
        scalyrServerUrl: '',
      },
    );
    const containers = sts.spec?.template.spec?.containers ?? [];

    it('merges manifest, configured, deprecated and Scalyr sidecars, first of a name winning', () => {
      expect(containers.map((c) => c.name)).to.deep.equal([
        'postgres',
        'cluster-specific-sidecar',
        'cluster-specific-sidecar-with-resources',
        'replace-sidecar',
        'global-sidecar',
        'deprecated-global-sidecar',
        'scalyr-sidecar',
      ]);
    });

    const expected: [string, object][] = [
      [
        'cluster-specific-sidecar',
        { image: 'test-image', imagePullPolicy: 'IfNotPresent', resources: res('200m', '500m', '0.7Gi', '1.3Gi') },
      ],
      [
        'cluster-specific-sidecar-with-resources',
        { image: 'test-image', imagePullPolicy: 'IfNotPresent', resources: res('210m', '510m', '0.8Gi', '1.4Gi') },
      ],
      ['replace-sidecar', { image: 'override-image', imagePullPolicy: 'IfNotPresent', resources: res('200m', '500m', '0.7Gi', '1.3Gi') }],
      ['global-sidecar', { image: 'test-image' }],
      [
        'deprecated-global-sidecar',
        { image: 'image:123', imagePullPolicy: 'IfNotPresent', resources: res('200m', '500m', '0.7Gi', '1.3Gi') },
      ],
    ];
    for (const [name, fields] of expected) {
      it(`builds ${name} with the injected env and the data mount`, () => {
        expect(container(sts, name)).to.deep.equal({ name, ...fields, env: injected, volumeMounts: mounts });
      });
    }

    it('builds the Scalyr sidecar after the injected env, with the default memory limit', () => {
      expect(container(sts, 'scalyr-sidecar')).to.deep.equal({
        name: 'scalyr-sidecar',
        image: 'scalyr-image',
        imagePullPolicy: 'IfNotPresent',
        resources: res('220m', '520m', '0.9Gi', '1.3Gi'),
        env: [...injected, { name: 'SCALYR_API_KEY', value: 'abc' }, { name: 'SCALYR_SERVER_HOST', value: 'acid-test-cluster' }],
        volumeMounts: mounts,
      });
    });

    it('shares the socket directory with every container when configured', () => {
      const s = build({ sidecars: [{ name: 'exporter', image: 'x' }] }, { sharePgsocketWithSidecars: true });
      for (const c of s.spec?.template.spec?.containers ?? [])
        expect(c.volumeMounts).to.deep.include({ name: 'postgresql-run', mountPath: '/var/run/postgresql' });
    });

    it('mounts additional_secret_mount into every container', () => {
      const s = build(
        { sidecars: [{ name: 'exporter', image: 'x' }] },
        { additionalSecretMount: 'aws-iam-s3-role', additionalSecretMountPath: '/meta/credentials' },
      );
      expect(s.spec?.template.spec?.volumes).to.deep.include({ name: 'aws-iam-s3-role', secret: { secretName: 'aws-iam-s3-role' } });
      for (const c of s.spec?.template.spec?.containers ?? [])
        expect(c.volumeMounts).to.deep.include({ name: 'aws-iam-s3-role', mountPath: '/meta/credentials' });
    });
  });

  describe('scheduling', () => {
    const manifestAffinity: V1NodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'test-label', operator: 'In', values: ['test-value'] }] }],
      },
    };

    it('uses the manifest node affinity', () => {
      expect(build({ nodeAffinity: manifestAffinity }).spec?.template.spec?.affinity).to.deep.equal({ nodeAffinity: manifestAffinity });
      expect(build().spec?.template.spec?.affinity).to.equal(undefined);
    });

    const readiness: [string, string, object][] = [
      [
        'OR',
        'adds the node readiness label as another term',
        {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'test-label', operator: 'In', values: ['test-value'] }] },
            { matchExpressions: [{ key: 'lifecycle-status', operator: 'In', values: ['ready'] }] },
          ],
        },
      ],
      [
        'AND',
        'adds the node readiness label to every term',
        {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'test-label', operator: 'In', values: ['test-value'] },
                { key: 'lifecycle-status', operator: 'In', values: ['ready'] },
              ],
            },
          ],
        },
      ],
    ];
    for (const [merge, name, required] of readiness) {
      it(`${name} (${merge})`, () => {
        const sts = build(
          { nodeAffinity: manifestAffinity },
          { nodeReadinessLabel: { 'lifecycle-status': 'ready' }, nodeReadinessLabelMerge: merge },
        );
        expect(sts.spec?.template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).to.deep.equal(required);
      });
    }

    const antiAffinity: [string, boolean, boolean][] = [
      ['sets no pod affinity when anti-affinity is disabled', false, false],
      ['requires anti-affinity during scheduling', true, false],
      ['prefers anti-affinity during scheduling', true, true],
    ];
    for (const [name, enabled, preferred] of antiAffinity) {
      it(name, () => {
        const affinity = build({}, { enablePodAntiaffinity: enabled, podAntiaffinityPreferredDuringScheduling: preferred }).spec?.template
          .spec?.affinity;
        if (!enabled) return void expect(affinity).to.equal(undefined);
        const term = { labelSelector: { matchLabels: podLabels }, topologyKey: 'kubernetes.io/hostname' };
        if (preferred)
          expect(affinity?.podAntiAffinity).to.deep.equal({
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: term }],
          });
        else expect(affinity?.podAntiAffinity).to.deep.equal({ requiredDuringSchedulingIgnoredDuringExecution: [term] });
      });
    }

    it('keeps the node affinity beside pod anti-affinity', () => {
      const affinity = build({ nodeAffinity: manifestAffinity }, { enablePodAntiaffinity: true }).spec?.template.spec?.affinity;
      expect(affinity?.nodeAffinity).to.deep.equal(manifestAffinity);
      expect(affinity?.podAntiAffinity).to.not.equal(undefined);
    });

    it('passes the manifest topology spread constraints through unchanged, as upstream (no selector filled in)', () => {
      const given = {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: podLabels },
      };
      const bare = { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' };
      expect(build({ topologySpreadConstraints: [given, bare] }).spec?.template.spec?.topologySpreadConstraints).to.deep.equal([
        given,
        bare,
      ]);
    });
  });

  describe('numberOfInstances', () => {
    const cases: [string, Partial<OperatorConfig>, Record<string, string>, number, number][] = [
      ['keeps the count without constraints', { minInstances: -1, maxInstances: -1 }, {}, 2, 2],
      ['raises the count to min_instances', { minInstances: 2, maxInstances: -1 }, {}, 1, 2],
      ['lowers the count to max_instances', { minInstances: -1, maxInstances: 5 }, {}, 10, 5],
      [
        'ignores min_instances with the ignore annotation',
        { minInstances: 2, ignoreInstanceLimitsAnnotationKey: 'ignore-instance-limits' },
        { 'ignore-instance-limits': 'true' },
        1,
        1,
      ],
      [
        'does not ignore with another annotation key',
        { minInstances: 2, ignoreInstanceLimitsAnnotationKey: 'ignore-instance-limits' },
        { 'ignoring-instance-limits': 'true' },
        1,
        2,
      ],
      [
        'does not ignore with another annotation value',
        { minInstances: 2, ignoreInstanceLimitsAnnotationKey: 'ignore-instance-limits' },
        { 'ignore-instance-limits': 'active' },
        1,
        2,
      ],
      [
        'keeps the count when there is nothing to ignore',
        { ignoreInstanceLimitsAnnotationKey: 'ignore-instance-limits' },
        { 'ignore-instance-limits': 'true' },
        1,
        1,
      ],
    ];
    for (const [name, config, annotations, desired, provided] of cases) {
      it(name, () => {
        expect(numberOfInstances(makeCluster({ numberOfInstances: desired }, { annotations }), makeConfig(config))).to.equal(provided);
      });
    }

    it('keeps a one-pod standby cluster at one pod whatever min_instances says', () => {
      expect(
        numberOfInstances(makeCluster({ numberOfInstances: 1, standby: { standby_host: 'x' } }), makeConfig({ minInstances: 3 })),
      ).to.equal(1);
    });
  });
});
