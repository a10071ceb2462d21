// Runs a Spilo container as Patroni + PostgreSQL from Debian's packages, doing what Spilo's launch.sh,
// configure_spilo.py and runit's patroni service do: prepare PGROOT on the volume, write the Patroni
// configuration, certificates and envdirs into a fresh RW_DIR, then start Patroni as `postgres` with
// the reduced environment runit leaves it.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { WAL_ARCHIVE_FAILURE_ANNOTATION } from '@pgfn/api';
import { ContainerConfigError } from '../env.js';
import { parseQuantity } from '../quantity.js';
import type { ContainerRuntime, Launch, LaunchContext, OsUser } from '../runtime.js';
import type { SandboxMount } from '../sandbox.js';
import { hostPathOf } from '../volumes.js';
import { BARMAN_MOUNT, barmanVenv } from './barman.js';
import { LOGICAL_RESTORE_ENV_DIR, logicalRestoreEnv } from './logical-restore.js';
import { copyScripts } from './scripts.js';
import { majorBuild, majorHasLibrary, majorMounts, postgresMajors, type PostgresMajor } from './majors.js';
import {
  SCRIPTS_DIR,
  SPILO_IMAGE_ENV,
  SpiloConfigError,
  spiloPatroniConfig,
  type SpiloHostFacts,
  type SpiloPlan,
} from './patroni-config.js';

/** Our stand-ins for Spilo's /scripts, copied into every pod's RW_DIR. */
export const SCRIPTS_SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts');

/** runit's patroni service keeps only these variables (runit/patroni/run). */
const PATRONI_ENV = /^(KUBERNETES_(SERVICE|PORT|ROLE)[_A-Z0-9]*|POD_IP|POD_NAMESPACE|HOSTNAME|PATH|PGHOME|LC_ALL|ENABLE_PG_MON)$/;

export class SpiloRuntime implements ContainerRuntime {
  readonly kind = 'spilo';

  constructor(private readonly user: OsUser) {}

  launch(ctx: LaunchContext): Promise<Launch> {
    // The promise constructor turns the synchronous preparation's errors into rejections.
    return new Promise((resolveLaunch) => resolveLaunch(this.prepare(ctx)));
  }

  private prepare(ctx: LaunchContext): Launch {
    const env: Record<string, string> = { ...SPILO_IMAGE_ENV, ...ctx.env, HOSTNAME: ctx.pod.metadata?.name ?? '' };
    if ((env['RW_DIR'] ?? '/run') !== '/run')
      throw new ContainerConfigError(`RW_DIR=${env['RW_DIR']}: the pgfn node agent supports only /run`);
    const majors = postgresMajors();
    const mounts = this.mounts(ctx, majors);
    const hostOf = (path: string): string => {
      const host = hostPathOf(path, mounts);
      if (host === undefined) throw new ContainerConfigError(`${path} is on no volume of the pod`);
      return host;
    };
    let plan: SpiloPlan;
    try {
      plan = spiloPatroniConfig(env, hostFacts(ctx, { hostPgData: hostOf(env['PGDATA'] as string), majors }));
    } catch (err) {
      if (err instanceof SpiloConfigError) throw new ContainerConfigError(err.message);
      throw err;
    }
    const p = plan.placeholders;
    const restore = logicalRestoreEnv(env, p['WALE_TMPDIR'] as string);
    if (restore !== undefined) plan.extraEnvDirs[LOGICAL_RESTORE_ENV_DIR] = restore;
    const archives = plan.walEnv !== undefined || Object.keys(plan.extraEnvDirs).length > 0;
    if (archives) {
      try {
        mounts.push({ kind: 'bind', source: barmanVenv(), target: BARMAN_MOUNT, readOnly: true });
      } catch (err) {
        throw new ContainerConfigError((err as Error).message);
      }
    }
    this.prepareRoot(p, hostOf);
    this.writeRunDir(ctx, plan, mounts, hostOf);
    const lcAll = availableLocale(env['LC_ALL'] ?? 'C.UTF-8');
    if (lcAll !== env['LC_ALL']) plan.adaptations.push(`LC_ALL ${env['LC_ALL']} is not installed here; using ${lcAll}`);
    for (const note of [...plan.adaptations, ...plan.warnings]) ctx.log(note);
    const patroniEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (PATRONI_ENV.test(k)) patroniEnv[k] = v;
    Object.assign(patroniEnv, {
      HOME: '/home/postgres',
      LC_ALL: lcAll,
      PATH: spiloPath(plan.binDir),
      ...plan.extraEnv,
    });
    // A Spilo container's environment as `kubectl exec` sees it: the image's and the pod's, PATH with the major's programs.
    const execEnv = { ...env, PATH: spiloPath(plan.binDir), ...plan.extraEnv };
    return {
      execEnv,
      sandbox: {
        mounts,
        hostname: ctx.pod.metadata?.name ?? 'pod',
        user: `${this.user.name}:${this.user.name}`,
        env: patroniEnv,
        argv: [...this.backupLauncher(plan, ctx.podIP), '/usr/bin/patroni', '/home/postgres/postgres.yml'],
        cwd: '/home/postgres',
        logFile: ctx.logFile,
      },
      ...(plan.walEnv === undefined ? {} : { upkeep: archiveWatch(ctx) }),
    };
  }

  /**
   * launch.sh's part beside Patroni when archiving is configured: the first base backup once this
   * member is primary, then BACKUP_SCHEDULE (scripts/launch.sh, which then becomes Patroni).
   */
  private backupLauncher(plan: SpiloPlan, podIP: string): string[] {
    if (plan.walEnv === undefined) return [];
    const p = plan.placeholders;
    const api = `http://${podIP}:${p['APIPORT']}`;
    return [
      '/bin/bash',
      `${SCRIPTS_DIR}/launch.sh`,
      p['WALE_ENV_DIR'] as string,
      p['PGDATA'] as string,
      p['BACKUP_SCHEDULE'] as string,
      api,
      '--',
    ];
  }

  /** /home (image content) and /run (RW_DIR) are the pod's own; volumes go on top. */
  private mounts(ctx: LaunchContext, majors: readonly PostgresMajor[]): SandboxMount[] {
    const home = join(ctx.podDir, 'home-postgres');
    mkdirSync(home, { recursive: true });
    chownSync(home, this.user.uid, this.user.gid);
    rmSync(join(home, 'postgres.yml'), { force: true });
    symlinkSync('/run/postgres.yml', join(home, 'postgres.yml'));
    return [
      { kind: 'tmpfs', target: '/home' },
      { kind: 'bind', source: home, target: '/home/postgres' },
      { kind: 'bind', source: ctx.runDir, target: '/run' },
      { kind: 'tmpfs', target: '/dev/shm', mode: '1777' },
      // Spilo's /scripts, where the operator execs inplace_upgrade.py (our stand-ins, copied into RW_DIR).
      { kind: 'bind', source: join(ctx.runDir, 'scripts'), target: '/scripts' },
      ...majorMounts(majors),
      ...ctx.volumeMounts,
    ];
  }

  /** launch.sh: PGLOG with its csv files, PGDATA 0700, the tmp dir, all owned by postgres. */
  private prepareRoot(p: Readonly<Record<string, string>>, hostOf: (path: string) => string): void {
    const own = (path: string, mode: number): void => {
      mkdirSync(path, { recursive: true });
      chownSync(path, this.user.uid, this.user.gid);
      chmodSync(path, mode);
    };
    own(hostOf(p['PGROOT'] as string), 0o755);
    own(hostOf(p['PGDATA'] as string), 0o700);
    const pgLog = hostOf(p['PGLOG'] ?? `${p['PGROOT']}/pg_log`);
    own(pgLog, 0o755);
    for (let day = 0; day < 8; day++) {
      const csv = join(pgLog, `postgresql-${day}.csv`);
      if (!existsSync(csv)) writeFileSync(csv, '');
      chownSync(csv, this.user.uid, this.user.gid);
    }
    own(hostOf(p['WALE_TMPDIR'] as string), 0o1777);
  }

  /** configure_spilo.py's files: postgres.yml, certificates, envdirs, the socket dir, our scripts. */
  private writeRunDir(ctx: LaunchContext, plan: SpiloPlan, mounts: readonly SandboxMount[], hostOf: (path: string) => string): void {
    const run = ctx.runDir;
    const p = plan.placeholders;
    const mine = (path: string, mode: number): void => {
      chownSync(path, this.user.uid, this.user.gid);
      chmodSync(path, mode);
    };
    mkdirSync(join(run, 'postgresql'), { recursive: true });
    mine(join(run, 'postgresql'), 0o2775);
    mkdirSync(join(run, 'pgfn'), { recursive: true });
    mine(join(run, 'pgfn'), 0o755);
    mkdirSync(join(run, 'tmp'), { recursive: true, mode: 0o1777 });
    chmodSync(join(run, 'tmp'), 0o1777);
    writeFileSync(join(run, 'postgres.yml'), toYaml(plan.config, { lineWidth: 0 }));
    mine(join(run, 'postgres.yml'), 0o600);
    copyScripts({ from: SCRIPTS_SOURCE, to: join(run, 'scripts') });
    this.writeCertificates(ctx, p, mounts, hostOf);
    const envDirs: Record<string, Record<string, string>> = { ...plan.extraEnvDirs };
    if (plan.walEnv !== undefined) envDirs[p['WALE_ENV_DIR'] as string] = plan.walEnv;
    for (const [dir, files] of Object.entries(envDirs)) {
      const host = runPath(run, dir);
      mkdirSync(host, { recursive: true });
      for (const [name, value] of Object.entries(files)) {
        writeFileSync(join(host, name), value);
        mine(join(host, name), 0o600);
      }
    }
    if (plan.clonePgpass !== undefined) {
      const file = hostOf(plan.clonePgpass.path);
      writeFileSync(file, plan.clonePgpass.content);
      mine(file, 0o600);
    }
  }

  /** The mounted certificate when given (SSL_CERTIFICATE/SSL_PRIVATE_KEY contents or files), else a self-signed one. */
  private writeCertificates(
    ctx: LaunchContext,
    p: Readonly<Record<string, string>>,
    mounts: readonly SandboxMount[],
    hostOf: (path: string) => string,
  ): void {
    const inRun = (path: string): string | undefined => (path.startsWith('/run/') ? runPath(ctx.runDir, path) : undefined);
    const certFile = p['SSL_CERTIFICATE_FILE'] as string;
    const keyFile = p['SSL_PRIVATE_KEY_FILE'] as string;
    const hostCert = inRun(certFile) ?? hostPathOf(certFile, mounts);
    const hostKey = inRun(keyFile) ?? hostPathOf(keyFile, mounts);
    if (hostCert === undefined || hostKey === undefined) return; // a mounted secret we do not manage
    mkdirSync(dirname(hostCert), { recursive: true });
    mkdirSync(dirname(hostKey), { recursive: true });
    const given = p['SSL_CERTIFICATE'] !== undefined && p['SSL_PRIVATE_KEY'] !== undefined;
    if (given) {
      writeFileSync(hostCert, p['SSL_CERTIFICATE'] as string);
      writeFileSync(hostKey, p['SSL_PRIVATE_KEY'] as string);
    } else if (!existsSync(hostKey)) {
      execFileSync('openssl', ['req', '-nodes', '-new', '-x509', '-subj', '/CN=spilo.example.org', '-keyout', hostKey, '-out', hostCert], {
        stdio: 'ignore',
      });
    }
    chownSync(hostKey, this.user.uid, this.user.gid);
    chmodSync(hostKey, 0o600);
    for (const [content, file] of [
      [p['SSL_CA'], p['SSL_CA_FILE']],
      [p['SSL_CRL'], p['SSL_CRL_FILE']],
    ] as const) {
      if (content === undefined || file === undefined || file === '') continue;
      const host = inRun(file) ?? hostOf(file);
      writeFileSync(host, content);
    }
  }
}

/**
 * Reports WAL archiving trouble as pod Events and a pod annotation (reconcile reads it, ADR 0044):
 * wal_push.sh leaves the segment and barman's last error line in /run/pgfn/archive-failure while pushes
 * fail. A Warning and the annotation name it (again when the error changes); a Normal event follows and
 * the annotation goes once a push succeeds.
 */
function archiveWatch(ctx: LaunchContext): () => Promise<void> {
  const file = join(ctx.runDir, 'pgfn', 'archive-failure');
  // A failure annotated before this start (its /run is fresh) is cleared once archiving works.
  const annotatedBefore = ctx.pod.metadata?.annotations?.[WAL_ARCHIVE_FAILURE_ANNOTATION] !== undefined;
  let reported: string | undefined = annotatedBefore ? '' : undefined;
  const check = (): void => {
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
    if (text === undefined) {
      if (reported !== undefined) {
        ctx.event({ type: 'Normal', reason: 'WALArchiveRecovered', message: 'WAL archiving succeeds again' });
        ctx.annotate({ [WAL_ARCHIVE_FAILURE_ANNOTATION]: null });
      }
      reported = undefined;
      return;
    }
    const at = text.indexOf(' ');
    const error = text.slice(at + 1);
    if (error === reported) return;
    reported = error;
    const message = `archiving WAL segment ${text.slice(0, at)} to S3 fails; Postgres keeps it and retries: ${error}`;
    ctx.event({ type: 'Warning', reason: 'WALArchiveFailing', message });
    ctx.annotate({ [WAL_ARCHIVE_FAILURE_ANNOTATION]: message });
  };
  return () => new Promise((resolveCheck) => resolveCheck(check()));
}

function runPath(runDir: string, path: string): string {
  if (!path.startsWith('/run/')) throw new ContainerConfigError(`${path} is outside RW_DIR (/run)`);
  return join(runDir, path.slice('/run/'.length));
}

/** What Spilo would read from cgroups and the filesystem, answered for this pod on this machine. */
function hostFacts(ctx: LaunchContext, found: { hostPgData: string; majors: readonly PostgresMajor[] }): SpiloHostFacts {
  const { hostPgData, majors } = found;
  const limit = ctx.container.resources?.limits?.['memory'];
  const memory = Math.min(limit === undefined ? Number.MAX_SAFE_INTEGER : parseQuantity(String(limit)), totalmem());
  const versionFile = join(hostPgData, 'PG_VERSION');
  return {
    memoryBytes: memory,
    cpuCount: cpus().length,
    installedMajors: majors.map((m) => m.major),
    dataVersion: existsSync(versionFile) ? readFileSync(versionFile, 'utf8').trim() : undefined,
    libraryExists: (major, library) => majorHasLibrary(majors, major, library),
    build: (major) => majorBuild(majors, major),
  };
}

/**
 * The image's PATH with the running major's programs first: Debian's /usr/bin/psql, pg_basebackup …
 * are wrappers that pick the newest installed major, and a Spilo pod's scripts must use its own.
 */
export function spiloPath(binDir: string): string {
  return `${binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

let locales: string[] | undefined;

/** `wanted` when this machine has that locale, else C.UTF-8 (compared the way glibc normalises names). */
export function availableLocale(wanted: string): string {
  const norm = (l: string): string => l.toLowerCase().replace(/utf-?8/, 'utf8');
  locales ??= execFileSync('locale', ['-a'], { encoding: 'utf8' }).split('\n').map(norm);
  return locales.includes(norm(wanted)) ? wanted : 'C.UTF-8';
}
