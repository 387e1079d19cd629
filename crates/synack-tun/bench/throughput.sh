#!/bin/bash
# Bulk throughput between synack on a TUN device and the kernel's TCP, both ways, in a
# network namespace of its own (root; nothing leaves the namespace):
#
#   cargo build --release -p synack-cli
#   sudo unshare -n bash crates/synack-tun/bench/throughput.sh [SYNACK TUN OPTIONS...]
#
# e.g. with `--no-offload` to compare. Three downloads of 1 GiB from synack's http app
# by curl (written to /dev/null), then three uploads of 1 GiB of zeros from Python to
# synack's discard app; each prints its rate in MB/s (10^6 bytes per second). Then the
# device's counters: the kernel's RX packets are synack's writes, its TX packets what
# synack read.
set -euo pipefail
synack=${SYNACK:-$(dirname "$0")/../../../target/release/synack}
[ -x "$synack" ] || { echo "build it first: cargo build --release -p synack-cli" >&2; exit 2; }
ip link set lo up
server=
trap '[ -n "$server" ] && kill -INT $server 2>/dev/null || true' EXIT
# Start `synack tun serve` with these arguments, wait for its device, stop the one before.
serve() {
  if [ -n "$server" ]; then kill -INT "$server"; wait "$server" 2>/dev/null || true; fi
  "$synack" tun serve "$@" > /dev/null 2>&1 &
  server=$!
  for _ in $(seq 50); do ip addr show synack0 2>/dev/null | grep -q 192.0.2.1 && break; sleep 0.1; done
  sleep 0.3
}
serve --app http --port 8080 "$@"
for _ in 1 2 3; do
  curl -s -o /dev/null -w 'download %{size_download} bytes: %{speed_download} B/s\n' \
    http://192.0.2.2:8080/bytes/1073741824 | awk '{printf "%s %s %s %.0f MB/s\n", $1, $2, $3, $4 / 1e6}'
done
serve --app discard --port 9000 "$@"
for _ in 1 2 3; do
  python3 - <<'PY'
import socket, time
s = socket.create_connection(("192.0.2.2", 9000))
buf = bytes(1 << 20)
t = time.time()
for _ in range(1024):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # synack's FIN: everything was read
print("upload 1073741824 bytes: %.0f MB/s" % ((1 << 30) / (time.time() - t) / 1e6))
s.close()
PY
done
ip -s link show synack0 | sed -n '3,6p'
