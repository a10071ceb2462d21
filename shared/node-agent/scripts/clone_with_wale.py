#!/usr/bin/env python3
# pgfn node agent stand-in for Spilo's clone_with_wale.py: bootstrap from another cluster's WAL-G
# archive (run under the clone envdir). Only the LATEST backup is fetched; a recovery target time is
# then reached through the recovery settings Patroni writes.
import argparse
import shutil
import subprocess
import sys

parser = argparse.ArgumentParser()
parser.add_argument('--recovery-target-time', default='')
parser.add_argument('--scope')
parser.add_argument('--datadir', required=True)
args = parser.parse_args()
if shutil.which('wal-g') is None:
    sys.stderr.write('clone_with_wale.py: wal-g is not installed on this machine\n')
    sys.exit(1)
sys.exit(subprocess.call(['wal-g', 'backup-fetch', args.datadir, 'LATEST']))
