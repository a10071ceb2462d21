// Re-expresses upstream's TestGenerateResourceRequirements (pkg/cluster/k8sres_test.go) as a table
// over the built StatefulSet, plus the quantity arithmetic it relies on.
import { expect } from 'chai';
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql, Resources } from '@pgfn/api';
import { compareQuantities, isQuantity, quantityNanos } from '../../shared/builder/src/quantity.js';
import { buildStatefulSet } from '../../shared/builder/src/statefulset.js';
import { makeCluster, makeConfig } from './sts-fixtures.js';

const thresholds: Partial<OperatorConfig> = {
  defaultCpuRequest: '100m',
  defaultCpuLimit: '1',
  maxCpuRequest: '500m',
  minCpuLimit: '250m',
  defaultMemoryRequest: '100Mi',
  defaultMemoryLimit: '500Mi',
  maxMemoryRequest: '1Gi',
  minMemoryLimit: '250Mi',
};
const ignoreKey = 'zalando.org/ignore-resources-limits';

function req(cpu?: string, memory?: string, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  if (cpu !== undefined) out['cpu'] = cpu;
  if (memory !== undefined) out['memory'] = memory;
  return { ...out, ...extra };
}

interface Case {
  name: string;
  config: Partial<OperatorConfig>;
  resources?: Resources;
  sidecarResources?: Resources | null;
  annotations?: Record<string, string>;
  expected: V1ResourceRequirements;
}

const cases: Case[] = [
  {
    name: 'uses the configured defaults when the manifest has none',
    config: thresholds,
    expected: { requests: req('100m', '100Mi'), limits: req('1', '500Mi') },
  },
  {
    name: 'gives sidecars the configured defaults',
    config: thresholds,
    sidecarResources: null,
    expected: { requests: req('100m', '100Mi'), limits: req('1', '500Mi') },
  },
  {
    name: 'takes limits from the defaults when only requests are given',
    config: thresholds,
    resources: { requests: { cpu: '50m', memory: '50Mi' } },
    expected: { requests: req('50m', '50Mi'), limits: req('1', '500Mi') },
  },
  {
    name: 'takes cpu from the defaults when only memory is given',
    config: thresholds,
    resources: { requests: { memory: '100Mi' }, limits: { memory: '1Gi' } },
    expected: { requests: req('100m', '100Mi'), limits: req('1', '1Gi') },
  },
  {
    name: 'sets no limits when there are no default limits',
    config: { defaultCpuRequest: '100m', defaultMemoryRequest: '100Mi' },
    expected: { requests: req('100m', '100Mi') },
  },
  {
    name: 'treats zero defaults, minimums and maximums as unset',
    config: {
      defaultCpuRequest: '0',
      defaultCpuLimit: '0',
      maxCpuRequest: '0',
      minCpuLimit: '0',
      defaultMemoryRequest: '0',
      defaultMemoryLimit: '0',
      maxMemoryRequest: '0',
      minMemoryLimit: '0',
    },
    resources: { limits: { cpu: '5m', memory: '5Mi' } },
    expected: { limits: req('5m', '5Mi') },
  },
  {
    name: 'raises limits below the requests to the requests',
    config: thresholds,
    resources: { requests: { memory: '750Mi' }, limits: { memory: '300Mi' } },
    expected: { requests: req('100m', '750Mi'), limits: req('1', '750Mi') },
  },
  {
    name: 'creates a limit from the minimum, then raises it to the request',
    config: { minMemoryLimit: '250Mi' },
    resources: { requests: { memory: '500Mi' } },
    expected: { requests: req(undefined, '500Mi'), limits: req(undefined, '500Mi') },
  },
  {
    name: 'raises the memory request to the limit with set_memory_request_to_limit',
    config: { ...thresholds, setMemoryRequestToLimit: true },
    resources: { requests: { memory: '200Mi' }, limits: { memory: '300Mi' } },
    expected: { requests: req('100m', '300Mi'), limits: req('1', '300Mi') },
  },
  {
    name: 'raises the memory request of sidecars with set_memory_request_to_limit too',
    config: { ...thresholds, setMemoryRequestToLimit: true },
    sidecarResources: { requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '100m', memory: '100Mi' } },
    expected: { requests: req('10m', '100Mi'), limits: req('100m', '100Mi') },
  },
  {
    name: 'takes resources from the manifest',
    config: thresholds,
    resources: { requests: { cpu: '10m', memory: '250Mi' }, limits: { cpu: '400m', memory: '800Mi' } },
    expected: { requests: req('10m', '250Mi'), limits: req('400m', '800Mi') },
  },
  {
    name: 'raises limits to min_cpu_limit and min_memory_limit',
    config: { ...thresholds, ignoreResourcesLimitsAnnotationKey: ignoreKey },
    annotations: { [ignoreKey]: 'false' },
    resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '200m', memory: '200Mi' } },
    expected: { requests: req('100m', '100Mi'), limits: req('250m', '250Mi') },
  },
  {
    name: 'ignores the minimum limits when the ignore annotation is "true"',
    config: { ...thresholds, ignoreResourcesLimitsAnnotationKey: ignoreKey },
    annotations: { [ignoreKey]: 'true' },
    resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '200m', memory: '200Mi' } },
    expected: { requests: req('100m', '100Mi'), limits: req('200m', '200Mi') },
  },
  {
    name: 'does not enforce minimum limits on sidecars',
    config: thresholds,
    sidecarResources: { requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '100m', memory: '100Mi' } },
    expected: { requests: req('10m', '10Mi'), limits: req('100m', '100Mi') },
  },
  {
    name: 'caps requests at max_cpu_request and max_memory_request (annotation not exactly "true")',
    config: { ...thresholds, ignoreResourcesLimitsAnnotationKey: ignoreKey },
    annotations: { [ignoreKey]: 'yes' },
    resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    expected: { requests: req('500m', '1Gi'), limits: req('2', '4Gi') },
  },
  {
    name: 'ignores the maximum requests when the ignore annotation is "true"',
    config: { ...thresholds, ignoreResourcesLimitsAnnotationKey: ignoreKey },
    annotations: { [ignoreKey]: 'true' },
    resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
    expected: { requests: req('1', '2Gi'), limits: req('2', '4Gi') },
  },
  {
    name: 'raises the memory request to the limit only up to max_memory_request',
    config: { ...thresholds, setMemoryRequestToLimit: true },
    resources: { requests: { memory: '500Mi' }, limits: { memory: '2Gi' } },
    expected: { requests: req('100m', '1Gi'), limits: req('1', '2Gi') },
  },
  {
    name: 'sets no huge pages unless the manifest asks for them',
    config: thresholds,
    resources: { requests: {}, limits: {} },
    expected: { requests: req('100m', '100Mi'), limits: req('1', '500Mi') },
  },
  {
    name: 'passes huge pages through to the postgres container',
    config: thresholds,
    resources: {
      requests: { 'hugepages-2Mi': '128Mi', 'hugepages-1Gi': '1Gi' },
      limits: { 'hugepages-2Mi': '256Mi', 'hugepages-1Gi': '2Gi' },
    },
    expected: {
      requests: req('100m', '100Mi', { 'hugepages-2Mi': '128Mi', 'hugepages-1Gi': '1Gi' }),
      limits: req('1', '500Mi', { 'hugepages-2Mi': '256Mi', 'hugepages-1Gi': '2Gi' }),
    },
  },
  {
    name: 'passes huge pages through to sidecars',
    config: thresholds,
    sidecarResources: {
      requests: { 'hugepages-2Mi': '128Mi', 'hugepages-1Gi': '1Gi' },
      limits: { 'hugepages-2Mi': '256Mi', 'hugepages-1Gi': '2Gi' },
    },
    expected: {
      requests: req('100m', '100Mi', { 'hugepages-2Mi': '128Mi', 'hugepages-1Gi': '1Gi' }),
      limits: req('1', '500Mi', { 'hugepages-2Mi': '256Mi', 'hugepages-1Gi': '2Gi' }),
    },
  },
];

function clusterFor(tc: Case): Postgresql {
  const spec: Partial<Postgresql['spec']> = {};
  if (tc.resources !== undefined) spec.resources = tc.resources;
  if (tc.sidecarResources !== undefined) {
    spec.sidecars = [
      { name: 'postgres-exporter', image: 'test-image', ...(tc.sidecarResources === null ? {} : { resources: tc.sidecarResources }) },
    ];
  }
  return makeCluster(spec, tc.annotations === undefined ? {} : { annotations: tc.annotations });
}

describe('resource requirements', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const sts = buildStatefulSet(clusterFor(tc), makeConfig(tc.config));
      const containers = sts.spec?.template.spec?.containers ?? [];
      const checked = tc.sidecarResources !== undefined ? containers[1] : containers[0];
      expect(checked?.resources).to.deep.equal(tc.expected);
    });
  }

  it('names the field of a value that is not a quantity', () => {
    expect(() => buildStatefulSet(makeCluster({ resources: { requests: { cpu: 'lots' } } }), makeConfig())).to.throw(
      /spec\.resources\.requests\.cpu: "lots" is not a Kubernetes quantity/,
    );
  });
});

describe('quantities', () => {
  const nanos: [string, bigint][] = [
    ['1', 1_000_000_000n],
    ['100m', 100_000_000n],
    ['1.5', 1_500_000_000n],
    ['1Ki', 1024n * 1_000_000_000n],
    ['1Gi', 1024n ** 3n * 1_000_000_000n],
    ['1G', 10n ** 18n],
    ['2e3', 2000n * 1_000_000_000n],
    ['1n', 1n],
    ['0.5n', 1n],
  ];
  for (const [text, value] of nanos) it(`reads ${text}`, () => expect(quantityNanos(text)).to.equal(value));

  it('compares across units', () => {
    expect(compareQuantities('1Gi', '1024Mi')).to.equal(0);
    expect(compareQuantities('1G', '1Gi')).to.equal(-1);
    expect(compareQuantities('0.5', '500m')).to.equal(0);
    expect(compareQuantities('2', '1999m')).to.equal(1);
  });

  it('rejects what is not a quantity', () => {
    for (const bad of ['', 'abc', '1Gb', '1.2.3', 'Mi']) expect(isQuantity(bad), bad).to.equal(false);
  });
});
