// Re-expresses upstream's TestGenerateSpiloJSONConfiguration (pkg/cluster/k8sres_test.go): the
// exact SPILO_CONFIGURATION string for a table of Patroni settings.
import { expect } from 'chai';
import type { Patroni } from '@pgfn/api';
import {
  initdbOptions,
  isBootstrapOnlyParameter,
  spiloConfigurationJson,
  splitPostgresqlParameters,
} from '../../shared/builder/src/spilo-config.js';

const initdbDefaults = '[{"auth-host":"scram-sha-256"},{"auth-local":"trust"}]';

interface Case {
  name: string;
  patroni: Patroni;
  enablePgversionEnvVar?: boolean;
  enablePatroniFailsafeMode?: boolean;
  parameters?: Record<string, string>;
  expected: string;
}

// Upstream's cases run with a nil failsafe pointer, which its real configuration never has
// (operator_config.go coalesces it to false); here the configured value is always written.
const cases: Case[] = [
  {
    name: 'writes bin_dir and the initdb defaults for an empty Patroni section',
    patroni: {},
    expected:
      `{"postgresql":{"bin_dir":"/usr/lib/postgresql/18/bin"},"bootstrap":{"initdb":${initdbDefaults},` + `"dcs":{"failsafe_mode":false}}}`,
  },
  {
    name: 'writes every Patroni setting of the manifest',
    patroni: {
      initdb: { encoding: 'UTF8', locale: 'en_US.UTF-8', 'data-checksums': 'true' },
      pg_hba: ['hostssl all all 0.0.0.0/0 scram-sha-256', 'host    all all 0.0.0.0/0 scram-sha-256'],
      ttl: 30,
      loop_wait: 10,
      retry_timeout: 10,
      maximum_lag_on_failover: 33554432,
      synchronous_mode: true,
      synchronous_mode_strict: true,
      synchronous_node_count: 1,
      slots: { permanent_logical_1: { type: 'logical', database: 'foo', plugin: 'pgoutput' } },
      failsafe_mode: true,
    },
    expected:
      '{"postgresql":{"bin_dir":"/usr/lib/postgresql/18/bin","pg_hba":["hostssl all all 0.0.0.0/0 ' +
      'scram-sha-256","host    all all 0.0.0.0/0 scram-sha-256"]},' +
      '"bootstrap":{"initdb":[{"auth-host":"scram-sha-256"},{"auth-local":"trust"},"data-checksums",' +
      '{"encoding":"UTF8"},{"locale":"en_US.UTF-8"}],' +
      '"dcs":{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":33554432,' +
      '"synchronous_mode":true,"synchronous_mode_strict":true,' +
      '"synchronous_node_count":1,"slots":{"permanent_logical_1":{"database":"foo","plugin":"pgoutput",' +
      '"type":"logical"}},"failsafe_mode":true}}}',
  },
  {
    name: 'takes failsafe_mode from the configuration',
    patroni: {},
    enablePatroniFailsafeMode: true,
    expected:
      `{"postgresql":{"bin_dir":"/usr/lib/postgresql/18/bin"},"bootstrap":{"initdb":${initdbDefaults},` + `"dcs":{"failsafe_mode":true}}}`,
  },
  {
    name: 'lets the manifest disable failsafe_mode enabled in the configuration',
    patroni: { failsafe_mode: false },
    enablePatroniFailsafeMode: true,
    expected:
      `{"postgresql":{"bin_dir":"/usr/lib/postgresql/18/bin"},"bootstrap":{"initdb":${initdbDefaults},` + `"dcs":{"failsafe_mode":false}}}`,
  },
  {
    name: 'lets the manifest enable failsafe_mode disabled in the configuration',
    patroni: { failsafe_mode: true },
    enablePatroniFailsafeMode: false,
    expected:
      `{"postgresql":{"bin_dir":"/usr/lib/postgresql/18/bin"},"bootstrap":{"initdb":${initdbDefaults},` + `"dcs":{"failsafe_mode":true}}}`,
  },
  {
    name: 'leaves bin_dir out when PGVERSION picks the binaries',
    patroni: {},
    enablePgversionEnvVar: true,
    expected: `{"postgresql":{},"bootstrap":{"initdb":${initdbDefaults},"dcs":{"failsafe_mode":false}}}`,
  },
  {
    name: 'splits parameters between the local and the DCS section, sorted, with Go escaping',
    patroni: {},
    enablePgversionEnvVar: true,
    parameters: { max_connections: '100', shared_buffers: '1GB', log_line_prefix: '<%m>&', ssl: 'on', work_mem: '4MB' },
    expected:
      '{"postgresql":{"parameters":{"shared_buffers":"1GB","ssl":"on"}},' +
      `"bootstrap":{"initdb":${initdbDefaults},` +
      `"dcs":{"postgresql":{"parameters":{"log_line_prefix":"\\u003c%m\\u003e\\u0026",` +
      `"max_connections":"100","work_mem":"4MB"}},"failsafe_mode":false}}}`,
  },
  {
    name: 'omits zero and negative Patroni numbers, as Go omitempty does',
    patroni: { ttl: 0, loop_wait: 0, maximum_lag_on_failover: -1, synchronous_node_count: 0, synchronous_mode: false },
    enablePgversionEnvVar: true,
    expected: `{"postgresql":{},"bootstrap":{"initdb":${initdbDefaults},"dcs":{"failsafe_mode":false}}}`,
  },
];

describe('spiloConfigurationJson', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const config = {
        enablePgversionEnvVar: tc.enablePgversionEnvVar ?? false,
        enablePatroniFailsafeMode: tc.enablePatroniFailsafeMode ?? false,
      };
      const pg = { version: '18', ...(tc.parameters === undefined ? {} : { parameters: tc.parameters }) };
      expect(spiloConfigurationJson(pg, tc.patroni, config)).to.equal(tc.expected);
    });
  }

  it('writes maximum_lag_on_failover as the float32 Go keeps', () => {
    const json = spiloConfigurationJson(
      { version: '15' },
      { maximum_lag_on_failover: 0.1 },
      { enablePgversionEnvVar: true, enablePatroniFailsafeMode: false },
    );
    expect(json).to.contain('"maximum_lag_on_failover":0.1');
    const big = spiloConfigurationJson(
      { version: '15' },
      { maximum_lag_on_failover: 33554433 },
      { enablePgversionEnvVar: true, enablePatroniFailsafeMode: false },
    );
    expect(big).to.contain('"maximum_lag_on_failover":33554432');
  });
});

describe('initdbOptions', () => {
  const cases: [string, Record<string, string> | undefined, unknown[]][] = [
    ['keeps the defaults alone', undefined, [{ 'auth-host': 'scram-sha-256' }, { 'auth-local': 'trust' }]],
    ['lets the manifest override a default', { 'auth-host': 'md5' }, [{ 'auth-host': 'md5' }, { 'auth-local': 'trust' }]],
    [
      'turns "true" of value-less options into flags, others stay pairs',
      { 'data-checksums': 'true', 'no-locale': 'true', locale: 'true', nosync: 'false' },
      [{ 'auth-host': 'scram-sha-256' }, { 'auth-local': 'trust' }, 'data-checksums', { locale: 'true' }, 'no-locale', { nosync: 'false' }],
    ],
  ];
  for (const [name, initdb, expected] of cases) it(name, () => expect(initdbOptions(initdb)).to.deep.equal(expected));
});

describe('bootstrap-only parameters', () => {
  it('keeps Spilo-local parameters local and sends all others to the DCS', () => {
    for (const local of ['archive_command', 'shared_buffers', 'ssl_cert_file', 'shared_preload_libraries', 'extwlist.extensions']) {
      expect(isBootstrapOnlyParameter(local), local).to.equal(false);
    }
    for (const dcs of ['max_connections', 'wal_level', 'max_wal_senders', 'work_mem'])
      expect(isBootstrapOnlyParameter(dcs), dcs).to.equal(true);
    expect(splitPostgresqlParameters({ b: '1', a: '2', ssl: 'on' })).to.deep.equal({ local: { ssl: 'on' }, bootstrap: { a: '2', b: '1' } });
  });
});
