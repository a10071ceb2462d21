#!/usr/bin/env bash
# Orphan guard: once process $1 (the one that started the control plane) is gone, however it died,
# terminate every process group listed in file $2. Started detached by controlplane.ts.
parent="$1" pids="$2"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
[[ -f "$pids" ]] || exit 0
groups=$(cat "$pids")
for g in $groups; do kill -TERM -- "-$g" 2>/dev/null; done
sleep 3
for g in $groups; do kill -KILL -- "-$g" 2>/dev/null; done
exit 0
