// The node heartbeat on the real API server: once stop(true) returns, its Node is gone for good and it
// logs nothing more, even when a beat was under way (in CI a beat in flight at stop failed after it and
// logged so into the agent's log directory, already removed: the test worker crashed). A beat that finds
// its Node deleted after stop must not register it again. The Node carries a NoSchedule taint: nothing is ever placed on it.
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { NodeHeartbeat } from '../../shared/node-agent/src/node.js';
import { adminConfig } from '../support/kube.js';

describe('node heartbeat: stop', function () {
  this.timeout(60_000);

  it('leaves no Node behind, whatever beat was under way when it stopped', async () => {
    const kc = adminConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const name = `pgfn-heartbeat-${process.pid}`;
    const logged: string[] = [];
    for (let round = 0; round < 8; round++) {
      const heartbeat = new NodeHeartbeat(
        kc,
        {
          name,
          ip: '127.0.0.1',
          labels: {},
          taints: [{ key: 'pgfn.dev/heartbeat-test', value: 'true', effect: 'NoSchedule' }],
          maxPods: 1,
        },
        (m) => logged.push(m),
        // Beats back to back, so one is in flight whenever stop() comes.
        5,
      );
      await heartbeat.register();
      await new Promise((r) => setTimeout(r, 30 + round * 7));
      await heartbeat.stop(true);
      const atStop = logged.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(logged.slice(atStop), `round ${round}: logged after stop() returned`).to.deep.equal([]);
      const found = await core.readNode({ name }).then(
        () => true,
        (err: unknown) => {
          if ((err as { code?: number }).code !== 404) throw err;
          return false;
        },
      );
      expect(found, `round ${round}: the Node exists after stop(true); logged: ${logged.join(' | ')}`).to.equal(false);
    }
    expect(logged.filter((m) => m.includes('registering it again'))).to.deep.equal([]);
  });
});
