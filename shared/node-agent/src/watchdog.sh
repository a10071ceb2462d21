#!/usr/bin/env bash
# Orphan guard of the pgfn node agent: once process $1 (the agent) is gone, however it died, SIGKILL
# every sandbox process group listed in file $2 (killing a sandbox's group kills its PID namespace).
# Pod addresses are loopback addresses that need no configuration, so there is nothing else to undo.
agent="$1" groups="$2"
while kill -0 "$agent" 2>/dev/null; do sleep 1; done
if [[ -f "$groups" ]]; then
  for g in $(cat "$groups"); do
    # Only our sandboxes: the group leader is util-linux unshare.
    if tr '\0' ' ' <"/proc/$g/cmdline" 2>/dev/null | grep -q '^/usr/bin/unshare '; then
      kill -KILL -- "-$g" 2>/dev/null
    fi
  done
fi
exit 0
