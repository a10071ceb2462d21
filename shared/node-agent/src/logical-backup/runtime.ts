// Runs the container of a logical-backup Job pod (the CronJob the builder makes) as a stand-in for
// upstream's logical-backup image (logical-backup/dump.sh): pg_dumpall of the cluster, gzip, upload
// to `<bucket>/<prefix>/<scope><suffix>/logical_backups/<epoch>.sql.gz`, retention by
// LOGICAL_BACKUP_S3_RETENTION_TIME. Like dump.sh it prefers a replica and falls back to the master;
// it reaches them through the cluster's Services (`<scope>-repl`, then `<scope>`), as kube-proxy would.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyFileSync, chmodSync } from 'node:fs';
import { ContainerConfigError } from '../env.js';
import type { ContainerRuntime, Launch, LaunchContext, OsUser } from '../runtime.js';
import { BARMAN_MOUNT, barmanVenv } from '../spilo/barman.js';
import { majorMounts, postgresMajors } from '../spilo/majors.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'logical_backup.py');

export class LogicalBackupRuntime implements ContainerRuntime {
  readonly kind = 'logical-backup';

  constructor(private readonly user: OsUser) {}

  async launch(ctx: LaunchContext): Promise<Launch> {
    const namespace = ctx.pod.metadata?.namespace ?? 'default';
    const scope = ctx.env['SCOPE'];
    if (!scope) throw new ContainerConfigError('SCOPE is not set: the logical backup does not know which cluster to dump');
    const port = Number(ctx.env['PGPORT'] ?? '5432');
    let host: string | undefined;
    for (const service of [`${scope}-repl`, scope]) {
      const backends = await ctx.resolver.resolveAddresses(service, port, namespace).catch(() => []);
      host = backends[0]?.ip;
      if (host !== undefined) break;
    }
    let venv: string;
    try {
      venv = barmanVenv();
    } catch (err) {
      throw new ContainerConfigError((err as Error).message);
    }
    copyFileSync(SCRIPT, join(ctx.runDir, 'logical_backup.py'));
    chmodSync(join(ctx.runDir, 'logical_backup.py'), 0o755);
    return {
      sandbox: {
        mounts: [
          { kind: 'bind', source: ctx.runDir, target: '/run' },
          { kind: 'bind', source: venv, target: BARMAN_MOUNT, readOnly: true },
          // pg_dumpall of the cluster's own major (the image carries every one).
          ...majorMounts(postgresMajors()),
          ...ctx.volumeMounts,
        ],
        hostname: ctx.pod.metadata?.name ?? 'pod',
        setup: [`/usr/bin/chown ${this.user.uid}:${this.user.gid} /run`],
        user: `${this.user.name}:${this.user.name}`,
        // No ready replica or master: PGHOST stays unset and the script fails the Job, naming why.
        env: { ...ctx.env, ...(host === undefined ? {} : { PGHOST: host }), HOME: '/run', TMPDIR: '/run' },
        argv: [`${BARMAN_MOUNT}/bin/python3`, '/run/logical_backup.py'],
        cwd: '/run',
        logFile: ctx.logFile,
      },
    };
  }
}
