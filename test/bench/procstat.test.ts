// The bench's process-tree sampler: CPU of a child that exits is the child's, not its parent's
// (issue 21: a function process that exited mid-run was counted as the broker's).
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { readProc, TreeSampler } from '../../bench/lib/procstat.js';

describe('bench TreeSampler', function () {
  this.timeout(60_000);

  it("counts an exited child's CPU under the child, once, and not again in its parent's reaped time", async () => {
    // bash runs node, which burns 0.4 s of CPU and exits; bash reaps it and then idles.
    const burn = 'const t=process.cpuUsage();while(process.cpuUsage(t).user+process.cpuUsage(t).system<400000);';
    const root = spawn('bash', ['-c', `${JSON.stringify(process.execPath)} -e '${burn}'; sleep 30`], { stdio: 'ignore' });
    const pid = root.pid ?? 0;
    const sampler = new TreeSampler({ roots: () => [pid], name: (s) => (s.pid === pid ? 'parent' : s.comm), fromBirth: true, everyMs: 50 });
    sampler.start();
    try {
      // Reaped: bash's cutime holds the child's CPU.
      for (let i = 0; i < 600 && (readProc(pid)?.reapedCpuSeconds ?? 0) < 0.35; i++) await new Promise((r) => setTimeout(r, 50));
      const usage = sampler.stop();
      const cpu = (name: string): number => usage.components.find((c) => c.name === name)?.cpuSeconds ?? 0;
      expect(readProc(pid)?.reapedCpuSeconds, "bash's reaped CPU").to.be.at.least(0.35);
      expect(cpu('node'), 'the child').to.be.at.least(0.3);
      expect(cpu('parent'), 'bash itself').to.be.below(0.2);
      expect(usage.cpuSeconds, 'the tree, counted once').to.be.closeTo(cpu('node') + cpu('parent'), 1e-9);
      expect(usage.cpuSeconds).to.be.below(0.4 + 0.3);
    } finally {
      root.kill('SIGKILL');
    }
  });
});
