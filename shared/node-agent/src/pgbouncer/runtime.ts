// Runs a connection-pooler container as Debian's pgbouncer. PGHOST names a Service; the pooler is
// pointed at its ready pods (resolver.ts) and reloaded (SIGHUP) whenever they change, which is what kube-proxy
// would do for the Service's cluster IP.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRuntime, Launch, LaunchContext, OsUser } from '../runtime.js';
import type { SandboxProcess } from '../sandbox.js';
import { hostPathOf } from '../volumes.js';
import { pgbouncerFiles } from './config.js';

/** Where the pooler image expects the operator's userlist secret (connection_pooler.go). */
const MOUNTED_USERLIST = '/etc/pgbouncer/userlist.txt';

export class PgBouncerRuntime implements ContainerRuntime {
  readonly kind = 'pgbouncer';

  constructor(private readonly user: OsUser) {}

  async launch(ctx: LaunchContext): Promise<Launch> {
    const namespace = ctx.pod.metadata?.namespace ?? 'default';
    const host = ctx.env['PGHOST'] ?? '';
    const port = Number(ctx.env['PGPORT'] ?? '5432');
    const upstream = async (): Promise<{ ip: string; port: number }[]> =>
      (await ctx.resolver.resolveAddresses(host, port, namespace).catch(() => [])).sort((a, b) => a.ip.localeCompare(b.ip));
    const mounted = hostPathOf(
      MOUNTED_USERLIST,
      ctx.volumeMounts.filter((m) => m.kind === 'bind' && m.target !== MOUNTED_USERLIST),
    );
    const mountedFile = ctx.volumeMounts.find((m) => m.kind === 'bind' && m.target === MOUNTED_USERLIST);
    const userlistSource = mountedFile?.kind === 'bind' ? mountedFile.source : mounted;
    const write = (targets: { ip: string; port: number }[]): string => {
      const files = pgbouncerFiles(ctx.env, {
        podIP: ctx.podIP,
        upstream: targets,
        runDir: '/run/pgbouncer',
        mountedUserlist: userlistSource !== undefined && existsSync(userlistSource) ? readFileSync(userlistSource, 'utf8') : undefined,
      });
      const dir = join(ctx.runDir, 'pgbouncer');
      execFileSync('mkdir', ['-p', dir]);
      chownSync(dir, this.user.uid, this.user.gid);
      for (const [name, content] of [
        ['pgbouncer.ini', files.ini],
        ['userlist.txt', files.userlist],
      ] as const) {
        writeFileSync(join(dir, name), content);
        chownSync(join(dir, name), this.user.uid, this.user.gid);
        chmodSync(join(dir, name), 0o600);
      }
      return files.ini;
    };
    let current = write(await upstream());
    const dir = join(ctx.runDir, 'pgbouncer');
    execFileSync(
      'openssl',
      [
        'req',
        '-nodes',
        '-new',
        '-x509',
        '-subj',
        '/CN=pgbouncer',
        '-keyout',
        join(dir, 'pgbouncer.key'),
        '-out',
        join(dir, 'pgbouncer.crt'),
      ],
      { stdio: 'ignore' },
    );
    for (const f of ['pgbouncer.key', 'pgbouncer.crt']) chownSync(join(dir, f), this.user.uid, this.user.gid);
    chmodSync(join(dir, 'pgbouncer.key'), 0o600);
    return {
      sandbox: {
        mounts: [{ kind: 'bind', source: ctx.runDir, target: '/run' }, ...ctx.volumeMounts],
        hostname: ctx.pod.metadata?.name ?? 'pooler',
        user: `${this.user.name}:${this.user.name}`,
        env: { ...ctx.env, PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/run/pgbouncer' },
        argv: ['/usr/sbin/pgbouncer', '/run/pgbouncer/pgbouncer.ini'],
        logFile: ctx.logFile,
      },
      upkeep: async (process: SandboxProcess) => {
        const next = write(await upstream());
        if (next === current) return;
        current = next;
        ctx.log(`upstream of ${host} changed; reloading pgbouncer`);
        process.signalInit('SIGHUP');
      },
    };
  }
}
