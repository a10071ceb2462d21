// Pod and node addresses live on the loopback interface: an address on `lo` is local to this host,
// so every process here reaches a pod at it, and nothing leaves the machine. Needs CAP_NET_ADMIN (root).
// The current set is kept in a file so the orphan guard can remove them if the agent dies.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export class HostAddresses {
  private readonly current = new Set<string>();

  constructor(private readonly belongs: (ip: string) => boolean, private readonly file: string, private readonly log: (m: string) => void) {}

  add(ip: string): void {
    execFileSync('ip', ['addr', 'replace', `${ip}/32`, 'dev', 'lo'], { stdio: 'pipe' });
    this.current.add(ip);
    this.save();
  }

  remove(ip: string): void {
    try {
      execFileSync('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo'], { stdio: 'pipe' });
    } catch {
      // Already gone.
    }
    this.current.delete(ip);
    this.save();
  }

  /** Removes every address of our range from `lo` (left by a previous run, or at stop). */
  removeAll(): void {
    const out = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
    const stale = [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/32/g)].map((m) => m[1] as string).filter((ip) => this.belongs(ip));
    for (const ip of stale) this.remove(ip);
    if (stale.length > 0) this.log(`removed ${stale.length} address(es) of the pod range from lo`);
  }

  private save(): void {
    writeFileSync(this.file, [...this.current].join('\n') + '\n');
  }
}
