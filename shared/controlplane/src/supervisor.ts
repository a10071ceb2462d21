// The background owner of a `npm run cluster -- up` control plane: starts it, marks it ready,
// and stops it on SIGTERM/SIGINT. If this process is killed outright, the watchdog cleans up.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane } from './controlplane.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: supervisor.ts <dir>');

const cp = await ControlPlane.start({ dir, removeOnStop: false });
let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await cp.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
writeFileSync(join(dir, 'ready'), String(process.pid));
console.log(`control plane ready: KUBECONFIG=${cp.kubeconfig}`);
// Keep the event loop alive until a signal arrives.
setInterval(() => undefined, 1 << 30);
