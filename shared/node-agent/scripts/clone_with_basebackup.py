#!/usr/bin/env python3
# pgfn node agent stand-in for Spilo's clone_with_basebackup.py: bootstrap a new cluster from a
# running one with pg_basebackup. Patroni appends --scope and --datadir.
import argparse
import os
import subprocess
import sys

parser = argparse.ArgumentParser()
for name in ('pgpass', 'host', 'port', 'user', 'scope', 'datadir'):
    parser.add_argument('--' + name, required=name not in ('scope',))
args = parser.parse_args()
env = dict(os.environ, PGPASSFILE=args.pgpass)
command = ['pg_basebackup', '--pgdata=' + args.datadir, '--wal-method=stream', '--no-password',
           '--dbname=host={0} port={1} user={2} dbname=postgres'.format(args.host, args.port, args.user)]
sys.exit(subprocess.call(command, env=env))
