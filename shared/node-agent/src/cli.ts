// pgfn-node-agent: run the node agent as its own process until SIGINT/SIGTERM.
//   node --import tsx shared/node-agent/src/cli.ts --kubeconfig <file> --data-dir <dir> --log-dir <dir>
//        [--node-name pgfn-agent-0] [--ip-range 127.0.10.0/24] [--probe-period-cap <seconds>] [--keep-node]
//        [--cpu 64] [--memory 256Gi] [--max-pods 110]   (what the Node advertises to the scheduler)
import { parseArgs } from 'node:util';
import { startNodeAgent } from './agent.js';
import { DEFAULT_NODE_CAPACITY } from './node.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: process.env['KUBECONFIG'] },
    'node-name': { type: 'string', default: 'pgfn-agent-0' },
    'ip-range': { type: 'string', default: '127.0.10.0/24' },
    'data-dir': { type: 'string' },
    'log-dir': { type: 'string' },
    'state-dir': { type: 'string' },
    'storage-class': { type: 'string', default: 'pgfn-local' },
    'probe-period-cap': { type: 'string' },
    'keep-node': { type: 'boolean', default: false },
    cpu: { type: 'string', default: DEFAULT_NODE_CAPACITY.cpu },
    memory: { type: 'string', default: DEFAULT_NODE_CAPACITY.memory },
    'max-pods': { type: 'string', default: '110' },
    quiet: { type: 'boolean', default: false },
  },
});
const need = (name: string, value: string | undefined): string => {
  if (value === undefined || value === '') {
    console.error(`--${name} is required`);
    process.exit(2);
  }
  return value;
};
const agent = await startNodeAgent({
  kubeconfig: need('kubeconfig', values.kubeconfig),
  nodeName: values['node-name'],
  ipRange: values['ip-range'],
  dataDir: need('data-dir', values['data-dir']),
  logDir: need('log-dir', values['log-dir']),
  ...(values['state-dir'] === undefined ? {} : { stateDir: values['state-dir'] }),
  storageClassName: values['storage-class'],
  ...(values['probe-period-cap'] === undefined ? {} : { probePeriodCapSeconds: Number(values['probe-period-cap']) }),
  deleteNodeOnStop: !values['keep-node'],
  capacity: { cpu: values.cpu, memory: values.memory },
  maxPods: Number(values['max-pods']),
  log: values.quiet ? undefined : (line) => console.log(line),
});
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
