#!/bin/sh
# scripts/isolated.sh <command> [args…]: runs a command in private network and mount namespaces (root), with lo up and
# its own /run/netns for `ip netns add`. The real control planes of test/cluster/ and bench/ use a fixed bridge
# (kpki0), fixed addresses (10.88.0.x) and fixed netns names (kpki-<node>): inside, two of them never meet, and
# nothing of them is left on the host when the command ends.
exec unshare --mount --net --propagation private sh -c \
  'mkdir -p /run/netns && mount -t tmpfs kube-pki-netns /run/netns && ip link set lo up && exec "$@"' isolated "$@"
