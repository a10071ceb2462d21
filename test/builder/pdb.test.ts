import type { OperatorConfig, PostgresSpec } from '@pgfn/api';
import { buildCriticalOpPdb, buildPrimaryPdb } from '@pgfn/builder';
import { expect } from 'chai';
import { cluster, config } from './support.js';

// Upstream TestGeneratePodDisruptionBudget (pkg/cluster/k8sres_test.go), re-expressed: the test config
// has no cluster_labels, so labels are just the cluster name and team.
const myapp = (spec: Partial<PostgresSpec> = {}, uid?: string) =>
  cluster({ teamId: 'myapp', numberOfInstances: 3, ...spec }, { name: 'myapp-database', namespace: 'myapp', ...(uid ? { uid } : {}) });
const cfg = (overrides: Partial<OperatorConfig> = {}) => config({ clusterLabels: {}, ...overrides });
const LABELS = { 'cluster-name': 'myapp-database', team: 'myapp' };

interface PdbCase {
  scenario: string;
  spec?: Partial<PostgresSpec>;
  config?: Partial<OperatorConfig>;
  name: string;
  minAvailable: number;
  masterSelector: boolean;
}

const PRIMARY: PdbCase[] = [
  { scenario: 'with multiple instances', name: 'postgres-myapp-database-pdb', minAvailable: 1, masterSelector: true },
  {
    scenario: 'with zero instances',
    spec: { numberOfInstances: 0 },
    name: 'postgres-myapp-database-pdb',
    minAvailable: 0,
    masterSelector: true,
  },
  {
    scenario: 'with budgets disabled',
    config: { enablePodDisruptionBudget: false },
    name: 'postgres-myapp-database-pdb',
    minAvailable: 0,
    masterSelector: true,
  },
  {
    scenario: 'with a non-default name format, budgets explicitly enabled',
    config: { pdbNameFormat: 'postgres-{cluster}-databass-budget', enablePodDisruptionBudget: true },
    name: 'postgres-myapp-database-databass-budget',
    minAvailable: 1,
    masterSelector: true,
  },
  {
    scenario: 'without the master selector and with synchronous_mode_strict',
    spec: { patroni: { synchronous_mode_strict: true, synchronous_node_count: 1 } },
    config: { pdbMasterLabelSelector: false },
    name: 'postgres-myapp-database-pdb',
    minAvailable: 2,
    masterSelector: false,
  },
  {
    scenario: 'with owner references enabled',
    config: { enableOwnerReferences: true },
    name: 'postgres-myapp-database-pdb',
    minAvailable: 1,
    masterSelector: true,
  },
];

describe('buildPrimaryPdb', () => {
  for (const tc of PRIMARY) {
    it(tc.scenario, () => {
      const pdb = buildPrimaryPdb(myapp(tc.spec, 'uid-1'), cfg(tc.config));
      expect(pdb.metadata?.name).to.equal(tc.name);
      expect(pdb.metadata?.namespace).to.equal('myapp');
      expect(pdb.metadata?.labels).to.deep.equal(LABELS);
      expect(pdb.spec?.minAvailable).to.equal(tc.minAvailable);
      expect(pdb.spec?.maxUnavailable).to.equal(undefined);
      const selector = tc.masterSelector
        ? { 'cluster-name': 'myapp-database', 'spilo-role': 'master' }
        : { 'cluster-name': 'myapp-database' };
      expect(pdb.spec?.selector).to.deep.equal({ matchLabels: selector });
      const owners = pdb.metadata?.ownerReferences;
      if (tc.config?.enableOwnerReferences) expect(owners?.[0]?.name).to.equal('myapp-database');
      else expect(owners).to.equal(undefined);
    });
  }

  it('keeps the master only without synchronous_mode_strict even when the master selector is off', () => {
    expect(buildPrimaryPdb(myapp(), cfg({ pdbMasterLabelSelector: false })).spec?.minAvailable).to.equal(1);
  });

  it('uses synchronous_node_count 1 when it is not set', () => {
    const pdb = buildPrimaryPdb(myapp({ patroni: { synchronous_mode_strict: true } }), cfg({ pdbMasterLabelSelector: false }));
    expect(pdb.spec?.minAvailable).to.equal(2);
  });
});

describe('buildCriticalOpPdb', () => {
  const cases: [string, Partial<PostgresSpec>, Partial<OperatorConfig>, number | string][] = [
    ['with multiple instances', {}, {}, 0],
    ['with zero instances', { numberOfInstances: 0 }, {}, '100%'],
    ['with budgets disabled', {}, { enablePodDisruptionBudget: false }, '100%'],
    ['with owner references enabled', {}, { enableOwnerReferences: true, enablePodDisruptionBudget: true }, 0],
  ];
  for (const [scenario, spec, overrides, maxUnavailable] of cases) {
    it(scenario, () => {
      const pdb = buildCriticalOpPdb(myapp(spec, 'uid-1'), cfg(overrides));
      expect(pdb.metadata?.name).to.equal('postgres-myapp-database-critical-op-pdb');
      expect(pdb.metadata?.labels).to.deep.equal(LABELS);
      expect(pdb.spec?.maxUnavailable).to.equal(maxUnavailable);
      expect(pdb.spec?.minAvailable).to.equal(undefined);
      expect(pdb.spec?.selector).to.deep.equal({ matchLabels: { 'cluster-name': 'myapp-database', 'critical-operation': 'true' } });
    });
  }
});
