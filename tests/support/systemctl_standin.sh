#!/bin/sh
# Stand-in for the bits of systemctl the bootstrap uses: the kubelet unit's state on a test host.
# kubeadm (the stand-in) starts the kubelet on init/join; a test stops it by removing the marker file.
marker=/etc/kubernetes/.standin-kubelet-active
quiet=""
[ "$2" = "--quiet" ] && quiet=1
case "$1" in
  is-active)
    if [ -f "$marker" ]; then [ -n "$quiet" ] || echo active; exit 0; fi
    [ -n "$quiet" ] || echo inactive
    exit 3 ;;
  start|restart|enable)
    touch "$marker"
    printf '{"time": %s, "host": "%s", "action": "kubelet-%s", "outcome": "done"}\n' \
      "$(date +%s.%N)" "$(hostname)" "$1" >> "$STANDIN_REGISTRY/kubeadm.log" ;;
  *)
    echo "stand-in systemctl: unsupported: $*" >&2
    exit 1 ;;
esac
