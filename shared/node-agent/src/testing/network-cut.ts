// The "network cut" fault of one pod (issue 20, item 4) on the node agent, whose pods share the host's
// network namespace and each listen on their own loopback address. A `prohibit` route for the pod's
// address in the kernel's `local` table (more specific than 127.0.0.0/8) makes every new connection
// to or from that address fail and every packet for it be dropped; established connections keep a
// cached route (and on loopback skip the lookup on receipt), so they are aborted at once (`ss -K`,
// socket destruction through inet_diag). Root only. Nothing else of the host's routing is touched.
import { execFileSync } from 'node:child_process';

const IPV4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function run(argv: readonly string[]): void {
  execFileSync(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Cuts `ip` (a pod's loopback address) off; returns the function that lifts the cut. */
export function cutAddress(ip: string): () => void {
  // Only a pod's loopback address: never 127.0.0.1 (the API server and every other local service).
  if (!IPV4.test(ip) || ip === '127.0.0.1') throw new Error(`not a pod loopback address: ${ip}`);
  const route = ['/usr/sbin/ip', 'route', 'add', 'prohibit', `${ip}/32`, 'table', 'local'];
  run(route);
  try {
    run(['/usr/bin/ss', '-K', 'dst', ip]);
    run(['/usr/bin/ss', '-K', 'src', ip]);
  } catch (err) {
    lift(ip);
    throw err;
  }
  return () => lift(ip);
}

function lift(ip: string): void {
  run(['/usr/sbin/ip', 'route', 'del', 'prohibit', `${ip}/32`, 'table', 'local']);
}
