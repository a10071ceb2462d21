#!/usr/bin/env python3
# pgfn node agent stand-in for Spilo's clone_with_wale.py (run by Patroni under the clone envdir):
# restore another cluster's base backup from its S3 archive with barman-cloud-restore (ADR 0016), in
# place of `wal-g backup-fetch`. Like Spilo: a Spilo-made prefix (".../wal" without a version) is
# tried with each installed major up to ours, newest first, then as given; with a recovery target
# time (which must carry a time zone) the newest backup that ended before it is taken, else the
# latest. Patroni then replays WAL to the target through restore_command.sh.
import argparse
import glob
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def barman(prefix, module, *args):
    """A barman-cloud command line for the archive at `prefix`, with barman_cloud.sh's settings."""
    script = 'source "$0/barman_cloud.sh" && barman_location "$1" && m=$2 && shift 2 && barman_cloud "$m" "${BARMAN_ARGS[@]}" "$@"'
    return ['bash', '-c', script, HERE, prefix, module] + list(args)


def location_args(prefix):
    # barman's source URL and server name, as barman_cloud.sh splits them.
    prefix = prefix.rstrip('/')
    return [prefix.rsplit('/', 1)[0], prefix.rsplit('/', 1)[1]]


def has_backups(prefix):
    result = subprocess.run(barman(prefix, 'cloud_backup_list', '--format', 'json', *location_args(prefix)),
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        return False
    try:
        return len(json.loads(result.stdout).get('backups_list', [])) > 0
    except ValueError:
        return False


def our_major():
    out = subprocess.check_output(['pg_ctl', '--version'], text=True)  # pg_ctl (PostgreSQL) 15.18 (Debian …)
    return int(re.search(r'\(PostgreSQL\) (\d+)', out).group(1))


def candidates(prefix):
    prefix = prefix.rstrip('/')
    if not re.search(r'/spilo/.+/wal$', prefix):
        return [prefix]
    majors = sorted((int(v) for v in os.listdir('/usr/lib/postgresql') if v.isdigit()), reverse=True)
    return ['{0}/{1}'.format(prefix, m) for m in majors if m <= our_major()] + [prefix]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--recovery-target-time', default='')
    parser.add_argument('--scope')
    parser.add_argument('--datadir', required=True)
    args = parser.parse_args()
    target = args.recovery_target_time
    if target and not re.search(r'(Z|[+-]\d\d(:?\d\d)?)$', target.strip()):
        sys.stderr.write('clone_with_wale.py: the recovery target time {0!r} has no time zone\n'.format(target))
        return 1
    given = os.environ.get('WALG_S3_PREFIX') or os.environ.get('WALE_S3_PREFIX') or ''
    if not given.startswith('s3://'):
        sys.stderr.write('clone_with_wale.py: no S3 prefix in the clone environment (only S3 archives are restored locally)\n')
        return 1
    chosen = next((p for p in candidates(given) if has_backups(p)), None)
    if chosen is None:
        sys.stderr.write('clone_with_wale.py: no base backup under {0}\n'.format(given))
        return 1
    restore = ['auto', args.datadir] + (['--target-time', target] if target else [])
    code = subprocess.call(barman(chosen, 'cloud_restore', *location_args(chosen), *restore))
    if code != 0:
        return code
    if chosen.rstrip('/') != given.rstrip('/'):
        # restore_command reads the prefix from the same envdir: point it at the versioned folder.
        for name in ('WALG_S3_PREFIX', 'WALE_S3_PREFIX'):
            for path in glob.glob('/run/etc/wal-e.d/env-clone-*/' + name):
                with open(path) as f:
                    if f.read().rstrip('/') != given.rstrip('/'):
                        continue
                with open(path, 'w') as f:
                    f.write(chosen)
    return 0


if __name__ == '__main__':
    sys.exit(main())
