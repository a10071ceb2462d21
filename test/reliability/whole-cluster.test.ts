// When the data-safety checker (ADR 0080) calls a cluster "whole again" and lets the next fault start (ADR 0114):
// labels and readiness are not enough, every replica must stream from the master. Pure: the states below are
// those the bench's stalled run had (bench:failover-safety, asynchronous mode, the 20th fault).
import { expect } from 'chai';
import { wholeCluster, type MemberView } from '@pgfn/node-agent/testing';

const member = (name: string, role: string, ready = true): MemberView => ({ name, role, ready, ip: '127.0.91.1', uid: name, restarts: 0 });
const labelled = [member('acid-ha-0', 'replica'), member('acid-ha-1', 'master'), member('acid-ha-2', 'replica')];

describe('wholeCluster: one master, every replica ready and streaming from it', () => {
  it('is whole when every replica is ready and streams from the master', () => {
    const whole = wholeCluster({
      members: labelled,
      instances: 3,
      standbys: [
        { name: 'acid-ha-0', state: 'streaming' },
        { name: 'acid-ha-2', state: 'streaming' },
      ],
    });
    expect(whole?.master.name).to.equal('acid-ha-1');
    expect(whole?.replicas.map((r) => r.name)).to.deep.equal(['acid-ha-0', 'acid-ha-2']);
  });

  it('is not whole while a ready, labelled replica has not reconnected to a master restarted on a new timeline', () => {
    // The master's postmaster was killed; Patroni recovered it and promoted it onto timeline 20. Both replicas
    // stayed ready and labelled, one still on timeline 19, the other on 18, neither connected yet.
    expect(wholeCluster({ members: labelled, instances: 3 }), 'labels and readiness alone').to.not.equal(undefined);
    expect(wholeCluster({ members: labelled, instances: 3, standbys: [] }), 'no standby connected').to.equal(undefined);
    const one = wholeCluster({ members: labelled, instances: 3, standbys: [{ name: 'acid-ha-2', state: 'streaming' }] });
    expect(one, 'acid-ha-0 not connected').to.equal(undefined);
  });

  it('is not whole while a replica is still catching up (walsender not yet streaming)', () => {
    const standbys = [
      { name: 'acid-ha-0', state: 'catchup' },
      { name: 'acid-ha-2', state: 'streaming' },
    ];
    expect(wholeCluster({ members: labelled, instances: 3, standbys })).to.equal(undefined);
  });

  it('is not whole with two masters, a replica not ready, or a member missing', () => {
    expect(wholeCluster({ members: [member('acid-ha-0', 'master'), ...labelled.slice(1)], instances: 3 })).to.equal(undefined);
    expect(wholeCluster({ members: [member('acid-ha-0', 'replica', false), ...labelled.slice(1)], instances: 3 })).to.equal(undefined);
    expect(wholeCluster({ members: labelled.slice(1), instances: 3 })).to.equal(undefined);
  });

  it('does not count a streaming standby that is not a member (another cluster, a pg_basebackup)', () => {
    const standbys = [
      { name: 'acid-ha-0', state: 'streaming' },
      { name: 'pg_basebackup', state: 'streaming' },
    ];
    expect(wholeCluster({ members: labelled, instances: 3, standbys })).to.equal(undefined);
  });
});
