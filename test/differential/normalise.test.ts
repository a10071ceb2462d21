// The differential test's normaliser must take out only what differs between any two runs, and its
// comparison must name each differing field; a normaliser that hid too much would make that test pass
// for the wrong reason.
import { expect } from 'chai';
import { differences, documentedDifferences, matches, normalise, type ListedObject } from './normalise.js';

const run = { namespace: 'diff-a1', uids: new Map([['u-123', '<uid of acid-x>']]) };

describe('differential normalisation', () => {
  it('drops server-set metadata, status and pgfn annotations (nested ones too), and keeps the rest', () => {
    const sts: ListedObject = {
      kind: 'StatefulSet',
      metadata: {
        name: 'acid-x',
        namespace: 'diff-a1',
        uid: 'x',
        resourceVersion: '9',
        creationTimestamp: 't',
        annotations: { 'pgfn.dev/applied-hash': 'h', team: 'acid' },
        ownerReferences: [{ kind: 'postgresql', name: 'acid-x', uid: 'u-123' }],
      },
      spec: { template: { metadata: { annotations: { 'pgfn.dev/pod-template-hash': 'p' } } } },
      status: { replicas: 1 },
    };
    expect(normalise(sts, run)).to.deep.equal({
      kind: 'StatefulSet',
      metadata: { name: 'acid-x', annotations: { team: 'acid' }, ownerReferences: [{ kind: 'postgresql', name: 'acid-x' }] },
      spec: { template: { metadata: {} } },
    });
  });

  it('replaces the namespace, cluster UIDs, passwords and allocated ports, but not usernames or asked-for values', () => {
    const secret: ListedObject = { kind: 'Secret', metadata: { name: 's' }, data: { username: 'cG9zdGdyZXM=', password: 'c2VjcmV0' } };
    expect(normalise(secret, run)['data']).to.deep.equal({ username: 'cG9zdGdyZXM=', password: '<generated>' });
    const svc: ListedObject = {
      kind: 'Service',
      metadata: { name: 'acid-x' },
      spec: { clusterIP: '10.96.0.9', type: 'NodePort', ports: [{ name: 'postgresql', port: 5432, nodePort: 30432 }] },
    };
    expect(normalise(svc, run)['spec']).to.deep.equal({
      type: 'NodePort',
      ports: [{ name: 'postgresql', port: 5432, nodePort: '<node port>' }],
    });
    const cron: ListedObject = { kind: 'CronJob', metadata: { name: 'c' }, spec: { suffix: '/u-123', host: 'acid-x.diff-a1.svc' } };
    expect(normalise(cron, run)['spec']).to.deep.equal({ suffix: '/<uid of acid-x>', host: 'acid-x.$NS.svc' });
  });

  it('names each differing field, matching named list items by name and JSON documents field by field', () => {
    const env = (auth: string, extra: boolean): unknown => ({
      env: [
        ...(extra ? [{ name: 'EXTRA', value: '1' }] : []),
        { name: 'SPILO_CONFIGURATION', value: JSON.stringify({ bootstrap: { initdb: [{ 'auth-host': auth }] } }) },
      ],
    });
    expect(differences('StatefulSet/acid-x', env('md5', false), env('scram-sha-256', true))).to.deep.equal([
      {
        object: 'StatefulSet/acid-x',
        path: 'env[name=SPILO_CONFIGURATION].value(json).bootstrap.initdb[0].auth-host',
        upstream: 'md5',
        pgfn: 'scram-sha-256',
      },
      { object: 'StatefulSet/acid-x', path: 'env[name=EXTRA]', upstream: undefined, pgfn: { name: 'EXTRA', value: '1' } },
    ]);
    expect(differences('Secret/s', { a: [1, 2] }, { a: [1, 2] })).to.deep.equal([]);
  });

  it('reads the documented table and matches rows by glob', () => {
    const doc = documentedDifferences(
      [
        '# x',
        '',
        '## Differences',
        '',
        '| object | field | reason |',
        '|---|---|---|',
        '| `StatefulSet/*` | `spec.*.namespace` | why |',
      ].join('\n'),
    );
    expect(doc).to.deep.equal([{ object: 'StatefulSet/*', path: 'spec.*.namespace', reason: 'why' }]);
    const [row] = doc;
    if (row === undefined) throw new Error('no row');
    expect(matches(row, { object: 'StatefulSet/acid-x', path: 'spec.template.metadata.namespace', upstream: 1, pgfn: 2 })).to.equal(true);
    expect(matches(row, { object: 'CronJob/acid-x', path: 'spec.template.metadata.namespace', upstream: 1, pgfn: 2 })).to.equal(false);
    expect(matches(row, { object: 'StatefulSet/acid-x', path: 'spec.replicas', upstream: 1, pgfn: 2 })).to.equal(false);
  });
});
