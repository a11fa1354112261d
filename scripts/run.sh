#!/usr/bin/env bash
# `make run`: the key server (both tiers, SQLite) and the bank's host
# application in the background and the desktop app in front; closing the
# app stops both servers.
#
# The freshly built signing core is signed as a new release with the
# development release key (schema/release-keys/) and published to the key
# server, which delivers it to the app at every sign-in: the app runs it from
# memory, never from a file. Where no session bus or Secret Service is
# running (a machine without a desktop session), a private one is started for
# the app, with its keyring kept in the data directory.
#
# With a fourth argument (an address), the host application `order-desk` is
# set up once in DATA_DIR/host — its keys, a certificate from the key
# server's CA (the operator commands on both sides) — and started there,
# fetching its CRL from the key server. Mandates are given with
# `signet-host mandate add --data-dir DATA_DIR/host …`.
set -euo pipefail
bin="$1" data_dir="$2" listen="$3" host_listen="${4:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"

mkdir -p "$data_dir"
log="$data_dir/keyserver.log"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# Publish the signer just built, unless it is the release delivered already.
signer="$bin/signet-signer"
sha256=$(sha256sum "$signer" | cut -d' ' -f1)
listing=$("$bin/signet-keyserver" applet list --data-dir "$data_dir")
# The builds of the first release listed: the one delivered.
delivered=$(awk 'NR > 1 && /^release/ { exit } NR > 1 { print }' <<<"$listing")
if grep -q "sha256 $sha256" <<<"$delivered"; then
  echo "signer: the built signing core ($sha256) is the release the key server delivers"
else
  release="$data_dir/signer-release.json"
  "$bin/signet-keyserver" applet sign-release --key "$root/schema/release-keys/development.key.pem" \
    --binary "$signer" --version "$(date +%s)" --out "$release" >/dev/null
  "$bin/signet-keyserver" applet publish --manifest "$release" --binary "$signer" --data-dir "$data_dir"
fi

"$bin/signet-keyserver" serve --data-dir "$data_dir" --listen "$listen" >"$log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 100); do
  grep -q "listening on" "$log" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "the key server did not start:"; cat "$log"; exit 1; }
  sleep 0.1
done
fingerprint=$(openssl x509 -in "$data_dir/tls/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)

if [ -n "$host_listen" ]; then
  host_dir="$data_dir/host"
  host_log="$data_dir/host.log"
  if [ ! -f "$host_dir/host-cert.pem" ]; then
    "$bin/signet-host" keys --data-dir "$host_dir" --name order-desk >/dev/null
    "$bin/signet-keyserver" admin certify-host --data-dir "$data_dir" --name order-desk \
      --url "https://$host_listen" --csr "$host_dir/host.csr.pem" --out "$host_dir/issued-cert.pem"
    "$bin/signet-host" certificate --data-dir "$host_dir" --certificate "$host_dir/issued-cert.pem" \
      --ca "$data_dir/ca/ca-cert.pem"
  fi
  "$bin/signet-host" serve --data-dir "$host_dir" --listen "$host_listen" \
    --crl-url "https://$listen/v1/crl" >"$host_log" 2>&1 &
  host=$!
  pids+=("$host")
  for _ in $(seq 1 100); do
    grep -q "listening on" "$host_log" 2>/dev/null && break
    kill -0 "$host" 2>/dev/null || { echo "the host application did not start:"; cat "$host_log"; exit 1; }
    sleep 0.1
  done
  cat <<INFO
host application order-desk: https://$host_listen   (SQLite in $host_dir; log in $host_log)
mandates (who signs for which account, class E/A/B/T, limit):
  $bin/signet-host mandate add --data-dir "$host_dir" --iban IBAN --user USER --class E --limit 10000.00
INFO
fi
cat <<INFO
key server: https://$listen   (SQLite, keys and CA in $data_dir; log in $log)
certificate fingerprint (SHA-256), to confirm in the app's Connect screen:
  $fingerprint
first help-desk account, once someone has applied:
  $bin/signet-keyserver admin bootstrap --data-dir "$data_dir" --user-id USER --letter letter.pdf
INFO
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: the key server runs alone (Ctrl-C stops it); start the app from a desktop session"
  wait "$server"
  exit 0
fi

# The app keeps the server's address and pins in the OS keyring (Secret Service).
has_secret_service() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] && dbus-send --session --print-reply --dest=org.freedesktop.DBus \
    /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
    | grep -q "boolean true"
}
if ! has_secret_service; then
  keyring_dir="$data_dir/desktop-keyring"
  mkdir -p "$keyring_dir/run" "$keyring_dir/data"
  chmod 700 "$keyring_dir" "$keyring_dir/run"
  export XDG_RUNTIME_DIR="$keyring_dir/run"
  if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    exec 9< <(dbus-daemon --session --nofork --print-address=1 2>/dev/null)
    pids+=("$!")
    read -r DBUS_SESSION_BUS_ADDRESS <&9
    export DBUS_SESSION_BUS_ADDRESS
  fi
  # An empty password: the keyring (in the data directory) is created or opened unlocked.
  echo | XDG_DATA_HOME="$keyring_dir/data" gnome-keyring-daemon --unlock --components=secrets --foreground \
    >/dev/null 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do has_secret_service && break; sleep 0.1; done
  has_secret_service || { echo "the private Secret Service did not start"; exit 1; }
  echo "no Secret Service was running: started a private session bus and GNOME Keyring for the app"
  echo "  (its keyring is kept in $keyring_dir/data)"
fi
SIGNET_SERVER="https://$listen" "$bin/signet-desktop"
