// npm run bench:controlplane [-- --runs N]
// Warm start time of the test control plane (binaries cached) and the peak memory of its
// components. Prints a markdown table and writes bench/results/controlplane.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane, repoRoot } from '@pgfn/controlplane';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const names = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

/** Peak resident set size (VmHWM) of a live process, in MiB. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] === undefined ? 0 : Number(m[1]) / 1024;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const starts: number[] = [];
const peaks: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const cp = await ControlPlane.start();
  starts.push((performance.now() - t0) / 1000);
  // Let the controllers settle so the peak includes their initial list/watch of everything.
  await new Promise((r) => setTimeout(r, 5000));
  cp.state.pids.forEach((pid, j) => peaks[names[j] ?? `p${j}`]?.push(peakRssMiB(pid)));
  await cp.stop();
}
const peakTotal = names.reduce((sum, n) => sum + Math.max(...(peaks[n] ?? [0])), 0);
const result = {
  runs,
  startSeconds: starts,
  medianStartSeconds: median(starts),
  peakRssMiB: Object.fromEntries(names.map((n) => [n, Math.max(...(peaks[n] ?? [0]))])),
  peakTotalMiB: peakTotal,
};
console.log(`| measure | value |\n|---|---|`);
console.log(`| warm start, median of ${runs} (s) | ${result.medianStartSeconds.toFixed(2)} |`);
console.log(`| warm start, all runs (s) | ${starts.map((s) => s.toFixed(2)).join(', ')} |`);
for (const n of names) console.log(`| peak RSS ${n} (MiB) | ${(result.peakRssMiB[n] ?? 0).toFixed(0)} |`);
console.log(`| peak RSS, all components (MiB) | ${peakTotal.toFixed(0)} |`);
mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
writeFileSync(join(repoRoot, 'bench/results/controlplane.json'), JSON.stringify(result, null, 2));
