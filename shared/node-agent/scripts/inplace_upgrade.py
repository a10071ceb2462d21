#!/usr/bin/env python3
# Stand-in for Spilo's major_upgrade/inplace_upgrade.py on the primary, run by the operator as
# `inplace_upgrade.py <number of pods>` (as postgres). Same steps, same results visible from outside:
# checks the cluster, pauses Patroni, runs pg_upgrade --link from the data directory's major to
# PGVERSION, puts the new data directory in place and tells the DCS the new system identifier. Patroni
# 3.0.2 reads bin_dir only when it starts, so the container then restarts (its Patroni gets the new
# major's binaries from PG_VERSION, as configure_spilo.py would). Replicas are re-synced with
# `inplace_upgrade.py --reset-replica` (data emptied, container restarted: it clones the upgraded
# primary); the caller then resumes Patroni. The last line is the reason on failure (the operator
# shows `tail -n 1 last_upgrade.log`).
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import yaml

CONFIG = '/home/postgres/postgres.yml'
LAG_LIMIT = 16 * 1024 * 1024


def log(message):
    now = time.time()  # milliseconds: bench:upgrade times pg_upgrade from these lines
    stamp = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(now)) + '.{0:03d}'.format(int(now * 1000) % 1000)
    sys.stdout.write('{0} inplace_upgrade: {1}\n'.format(stamp, message))
    sys.stdout.flush()


def fail(message):
    log(message)
    sys.exit(1)


def api(config, path, body=None, method=None):
    url = 'http://{0}/{1}'.format(config['restapi']['connect_address'], path)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method or ('GET' if body is None else 'PATCH'))
    req.add_header('Content-Type', 'application/json')
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read().decode()
    try:
        return json.loads(text)
    except ValueError:
        return text


def run(argv, **kwargs):
    log('running ' + ' '.join(argv))
    subprocess.check_call(argv, **kwargs)


SOCKETS = '/var/run/postgresql'


def sql(bin_dir, query):
    return subprocess.check_output([bin_dir + '/psql', '-X', '-tA', '-h', SOCKETS, '-d', 'postgres', '-c', query], text=True).strip()


def restart_container():
    """Ends the container's main process (Patroni, PID 1 here) a moment after this exec returns."""
    subprocess.Popen(['/bin/sh', '-c', 'sleep 2; kill -TERM 1'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def controldata(bin_dir, data_dir):
    out = subprocess.check_output([bin_dir + '/pg_controldata', data_dir], text=True, env=dict(os.environ, LC_ALL='C'))
    return dict(line.split(':', 1) for line in out.splitlines() if ':' in line)


def check_cluster(config, pods):
    cluster = api(config, 'cluster')
    members = cluster.get('members', [])
    if len(members) != pods:
        fail('{0} of {1} pods are Patroni members'.format(len(members), pods))
    leaders = [m for m in members if m.get('role') in ('leader', 'master', 'primary')]
    me = config.get('name') or config['postgresql']['name']  # Spilo's YAML names the member under postgresql
    if len(leaders) != 1 or leaders[0]['name'] != me:
        fail('this pod ({0}) is not the primary'.format(me))
    for m in members:
        if m.get('state') not in ('running', 'streaming'):
            fail('member {0} is {1}, not running'.format(m['name'], m.get('state')))
        if m in leaders:
            continue
        lag = m.get('lag')
        if not isinstance(lag, int) or lag > LAG_LIMIT:
            fail('replica {0} lags {1} bytes (at most 16 MiB)'.format(m['name'], lag))


def wait_for(what, check, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - the next try tells
            pass
        time.sleep(1)
    fail('timed out waiting for ' + what)


def reset_replica(config):
    """Stops this replica's Postgres (Patroni is paused) and empties its data directory for a new clone."""
    data_dir = config['postgresql']['data_dir']
    bin_dir = config['postgresql']['bin_dir']
    if os.path.exists(os.path.join(data_dir, 'postmaster.pid')):
        subprocess.call([bin_dir + '/pg_ctl', 'stop', '-D', data_dir, '-m', 'fast', '-w'])
    for name in os.listdir(data_dir):
        path = os.path.join(data_dir, name)
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
    restart_container()
    log('replica data directory emptied; the restarted container clones the upgraded primary')


def upgrade(config, pods):
    data_dir = config['postgresql']['data_dir']
    old_bin = config['postgresql']['bin_dir']
    with open(os.path.join(data_dir, 'PG_VERSION')) as f:
        old = f.read().strip()
    new = os.environ.get('PGVERSION', '')
    if not new.isdigit() or int(new) <= int(old):
        fail('PGVERSION={0} is not newer than the data directory\'s {1}'.format(new, old))
    new_bin = '/usr/lib/postgresql/{0}/bin'.format(new)
    if not os.path.exists(new_bin + '/pg_upgrade'):
        fail('PostgreSQL {0} is not installed in this image'.format(new))
    check_cluster(config, pods)

    # The new cluster must match the old one's encoding, locale and checksums.
    encoding, collate, ctype = sql(old_bin, "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
                                            "WHERE datname = 'template1'").split('|')
    checksums = controldata(old_bin, data_dir).get('Data page checksum version', '0').strip() != '0'
    new_dir = data_dir + '_new'
    shutil.rmtree(new_dir, ignore_errors=True)
    run([new_bin + '/initdb', '-D', new_dir, '-U', sql(old_bin, 'SELECT current_user'), '--encoding', encoding,
         '--lc-collate', collate, '--lc-ctype', ctype] + (['--data-checksums'] if checksums else []), stdout=subprocess.DEVNULL)
    work = os.path.join(os.path.dirname(data_dir), 'upgrade')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    base = [new_bin + '/pg_upgrade', '-b', old_bin, '-B', new_bin, '-d', data_dir, '-D', new_dir, '--link',
            '-U', sql(old_bin, 'SELECT current_user'), '-s', SOCKETS]
    # Against the live old server: refuses early, before anything is stopped.
    run(base + ['--check', '-p', '5432', '-P', '50433'], cwd=work)

    log('pausing Patroni')
    api(config, 'config', {'pause': True})
    wait_for('Patroni to pause', lambda: api(config, 'cluster').get('pause') is True)
    sql(old_bin, 'CHECKPOINT')
    run([old_bin + '/pg_ctl', 'stop', '-D', data_dir, '-m', 'fast', '-w'])
    try:
        run(base + ['-p', '50432', '-P', '50433'], cwd=work)
    except subprocess.CalledProcessError:
        # With --link the old cluster stays usable until the new one has started.
        log('pg_upgrade failed; restarting PostgreSQL {0} and resuming Patroni'.format(old))
        api(config, 'restart', {}, method='POST')
        api(config, 'config', {'pause': False})
        fail('pg_upgrade from {0} to {1} failed (see {2})'.format(old, new, work))

    # Patroni's own files move with the data (it rewrites postgresql.conf on start).
    for name in ('postgresql.conf', 'postgresql.base.conf', 'pg_hba.conf', 'pg_ident.conf', 'patroni.dynamic.json'):
        if os.path.exists(os.path.join(data_dir, name)):
            shutil.copy2(os.path.join(data_dir, name), os.path.join(new_dir, name))
    os.rename(data_dir, data_dir + '_old')
    os.rename(new_dir, data_dir)

    # The new cluster has a new system identifier: the DCS must know it, or Patroni refuses the data.
    from patroni.config import Config
    from patroni.dcs import get_dcs
    sysid = controldata(new_bin, data_dir)['Database system identifier'].strip()
    dcs = get_dcs(Config(CONFIG, validator=None))  # its validator would refuse the new data with the old bin_dir
    dcs.get_cluster()
    if not dcs.initialize(create_new=False, sysid=sysid):
        fail('could not record the new system identifier {0} in the DCS'.format(sysid))
    log('system identifier {0} recorded'.format(sysid))

    shutil.rmtree(data_dir + '_old', ignore_errors=True)
    restart_container()
    log('upgrade from {0} to {1} done on the primary; its container restarts on the new binaries'.format(old, new))
    sys.stdout.flush()
    os._exit(0)  # the DCS client's watch threads must not hold the exec open


def main():
    with open(CONFIG) as f:
        config = yaml.safe_load(f)
    if len(sys.argv) == 2 and sys.argv[1] == '--reset-replica':
        return reset_replica(config)
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        fail('usage: inplace_upgrade.py <number of pods> | --reset-replica')
    upgrade(config, int(sys.argv[1]))


if __name__ == '__main__':
    main()
