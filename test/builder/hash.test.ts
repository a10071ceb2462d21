// The pod-template hash: deterministic, and changed exactly by what needs a pod rotation.
import { expect } from 'chai';
import fc from 'fast-check';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { POD_TEMPLATE_CONTENT_HASH_ANNOTATION, POD_TEMPLATE_HASH_ANNOTATION } from '../../shared/builder/src/labels.js';
import { canonicalJson, podTemplateContentHash, podTemplateHash } from '../../shared/builder/src/pod-template-hash.js';
import { buildStatefulSet } from '../../shared/builder/src/statefulset.js';
import { makeCluster, makeConfig } from './sts-fixtures.js';

type Change = (c: Postgresql, config: OperatorConfig) => void;

function hashes(cluster: Postgresql, config: OperatorConfig): { rotation: string; content: string } {
  const sts = buildStatefulSet(cluster, config);
  return {
    rotation: sts.spec?.template.metadata?.annotations?.[POD_TEMPLATE_HASH_ANNOTATION] ?? '',
    content: sts.metadata?.annotations?.[POD_TEMPLATE_CONTENT_HASH_ANNOTATION] ?? '',
  };
}

const baseCluster = fc
  .record({
    instances: fc.integer({ min: 1, max: 5 }),
    version: fc.constantFrom('14', '15', '16', '17'),
    size: fc.constantFrom('1Gi', '10Gi', '500Mi'),
    cpu: fc.option(fc.constantFrom('100m', '250m', '1'), { nil: undefined }),
    env: fc.uniqueArray(fc.record({ name: fc.constantFrom('A_VAR', 'B_VAR', 'C_VAR'), value: fc.string({ maxLength: 8 }) }), {
      selector: (e) => e.name,
      maxLength: 3,
    }),
    crLabels: fc.dictionary(fc.constantFrom('x', 'y', 'z'), fc.string({ maxLength: 5 })),
    podAnnotations: fc.dictionary(fc.constantFrom('p', 'q'), fc.string({ maxLength: 5 })),
  })
  .map((r) =>
    makeCluster(
      {
        numberOfInstances: r.instances,
        postgresql: { version: r.version, parameters: { max_connections: '100', shared_buffers: '128MB' } },
        volume: { size: r.size },
        env: r.env,
        podAnnotations: r.podAnnotations,
        ...(r.cpu === undefined ? {} : { resources: { requests: { cpu: r.cpu } } }),
      },
      { labels: r.crLabels },
    ),
  );

const rotating: [string, Change][] = [
  ['the image', (c) => void (c.spec.dockerImage = `${c.spec.dockerImage ?? 'spilo'}-next`)],
  ['an env variable', (c) => void (c.spec.env = [...(c.spec.env ?? []), { name: 'NEW_VAR', value: 'v' }])],
  ['the cpu request', (c) => void (c.spec.resources = { requests: { cpu: c.spec.resources?.requests?.cpu === '3' ? '4' : '3' } })],
  ['the memory limit', (c) => void (c.spec.resources = { ...c.spec.resources, limits: { memory: '7Gi' } })],
  [
    'an additional volume',
    (c) => void (c.spec.additionalVolumes = [{ name: 'extra', mountPath: '/extra', volumeSource: { emptyDir: {} } }]),
  ],
  ['a sidecar', (c) => void (c.spec.sidecars = [{ name: 'exporter', image: 'exporter:1' }])],
  ['a Spilo-local parameter', (c) => void (c.spec.postgresql.parameters = { ...c.spec.postgresql.parameters, shared_buffers: '1GB' })],
  ['the major version', (c) => void (c.spec.postgresql.version = c.spec.postgresql.version === '17' ? '16' : '17')],
  ['a toleration', (c) => void (c.spec.tolerations = [{ key: 'k', operator: 'Exists' }])],
  ['the team label', (c) => void (c.spec.teamId = `${c.spec.teamId}x`)],
  ['the configured WAL bucket', (_c, config) => void (config.walS3Bucket = 'bucket')],
];

const nonRotating: [string, Change][] = [
  ['the number of instances', (c) => void (c.spec.numberOfInstances += 1)],
  ['CR labels that are not inherited', (c) => void (c.metadata.labels = { ...c.metadata.labels, unrelated: 'yes' })],
  ['CR annotations that are not inherited', (c) => void (c.metadata.annotations = { note: 'x' })],
  ['a DCS-only parameter', (c) => void (c.spec.postgresql.parameters = { ...c.spec.postgresql.parameters, max_connections: '500' })],
  ['Patroni ttl', (c) => void (c.spec.patroni = { ttl: 45 })],
  ['the volume size', (c) => void (c.spec.volume = { size: '99Gi' })],
  ['pod annotations', (c) => void (c.spec.podAnnotations = { ...c.spec.podAnnotations, changed: 'now' })],
];

describe('pod template hash', () => {
  describe('property: rotation-relevant changes', () => {
    for (const [name, change] of rotating) {
      it(`changes after changing ${name}`, () => {
        fc.assert(
          fc.property(baseCluster, (cluster) => {
            const config = makeConfig();
            const before = hashes(cluster, config);
            const changed = structuredClone(cluster);
            const changedConfig = structuredClone(config);
            change(changed, changedConfig);
            const after = hashes(changed, changedConfig);
            expect(after.rotation).to.not.equal(before.rotation);
            expect(after.content).to.not.equal(before.content);
          }),
          { numRuns: 30 },
        );
      });
    }
  });

  describe('property: changes that need no rotation', () => {
    for (const [name, change] of nonRotating) {
      it(`stays the same after changing ${name}`, () => {
        fc.assert(
          fc.property(baseCluster, (cluster) => {
            const config = makeConfig();
            const changed = structuredClone(cluster);
            const changedConfig = structuredClone(config);
            change(changed, changedConfig);
            expect(hashes(changed, changedConfig).rotation).to.equal(hashes(cluster, config).rotation);
          }),
          { numRuns: 30 },
        );
      });
    }
  });

  it('is the same for the same input, whatever the key order', () => {
    const a = makeCluster({ podAnnotations: { a: '1', b: '2' }, env: [{ name: 'X', value: '1' }] });
    const b = structuredClone(a);
    b.spec = Object.fromEntries(Object.entries(b.spec).reverse()) as Postgresql['spec'];
    b.spec.podAnnotations = { b: '2', a: '1' };
    expect(hashes(a, makeConfig())).to.deep.equal(hashes(b, makeConfig()));
  });

  it('is a hex sha256', () => {
    expect(hashes(makeCluster(), makeConfig()).rotation).to.match(/^[0-9a-f]{64}$/);
  });

  it('ignores the postgres image under lazy Spilo upgrade, but the content hash sees it', () => {
    const config = makeConfig({ enableLazySpiloUpgrade: true });
    const before = hashes(makeCluster({ dockerImage: 'spilo:1' }), config);
    const after = hashes(makeCluster({ dockerImage: 'spilo:2' }), config);
    expect(after.rotation).to.equal(before.rotation);
    expect(after.content).to.not.equal(before.content);
  });

  it('changes only the content hash for pod annotations and DCS-only settings', () => {
    const config = makeConfig();
    const before = hashes(makeCluster(), config);
    for (const spec of [{ podAnnotations: { a: 'b' } }, { postgresql: { version: '15', parameters: { max_connections: '200' } } }]) {
      const after = hashes(makeCluster(spec), config);
      expect(after.rotation).to.equal(before.rotation);
      expect(after.content).to.not.equal(before.content);
    }
  });

  it('leaves the hash annotations out of what it hashes', () => {
    const template = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'postgres', image: 'x' }] } };
    const annotated = {
      ...template,
      metadata: { ...template.metadata, annotations: { [POD_TEMPLATE_HASH_ANNOTATION]: 'h', [POD_TEMPLATE_CONTENT_HASH_ANNOTATION]: 'c' } },
    };
    expect(podTemplateHash(annotated)).to.equal(podTemplateHash(template));
    expect(podTemplateContentHash(annotated)).to.equal(
      podTemplateContentHash({ ...template, metadata: { ...template.metadata, annotations: {} } }),
    );
  });

  it('sorts keys at every level in its canonical JSON', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).to.equal('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});
