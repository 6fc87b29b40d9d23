#!/usr/bin/env bash
# Installs meldpunt on Debian 12 beside the system tor, as root, from this source tree:
#
#   sudo deploy/install.sh            install or update, then start once the configuration is real
#   sudo deploy/install.sh --no-start install or update only
#   sudo deploy/install.sh --https-proxy NAME --https-cert FULLCHAIN --https-key KEY
#                                     also serve the form at https://NAME/ through nginx (repeat
#                                     --https-proxy for more names; each must be in web.public_hosts,
#                                     and web.https_bind must be unix:/run/meldpunt-https/https.sock;
#                                     the certificate files are the hotline's, PEM, for every NAME)
#
# Idempotent: run it again after editing /etc/meldpunt/meldpunt.toml, or after updating the source
# tree; a run with nothing to do changes nothing. It never overwrites the configuration, and it
# does not start meldpunt while the configuration fails meldpunt-check (the example's placeholder
# recipient fails it). What it puts where is listed in deploy/README.md; uninstall.sh reverses it.
#
# Environment:
#   MELDPUNT_WHEELS=DIR        install the Python packages from DIR only (pip --no-index)
#   MELDPUNT_ADDRESS_WAIT=SEC  how long to wait for the onion address at the end (default 180)
#   MELDPUNT_ROOT=DIR          tests only: every path below DIR instead of /; the system commands
#                              (apt-get, useradd, chown, systemctl, tor, ...) are still called,
#                              so the tests put stand-ins for them first on PATH
set -euo pipefail
umask 022

R="${MELDPUNT_ROOT:-}"
R="${R%/}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$(dirname "$HERE")"

VENV=/opt/meldpunt
CONF_DIR=/etc/meldpunt
CONF="$CONF_DIR/meldpunt.toml"
DATA=/var/lib/meldpunt
SVC_USER=meldpunt
TOR_GROUP=debian-tor
TORRC=/etc/tor/torrc
TOR_DROPIN_DIR=/etc/tor/torrc.d
TOR_UNIT_DROPIN=/etc/systemd/system/tor@default.service.d/meldpunt.conf
TOR_INCLUDE="%include $TOR_DROPIN_DIR/*.conf"
INCLUDE_MARK="# added by meldpunt's deploy/install.sh (uninstall.sh removes it)"
AA_LOCAL=/etc/apparmor.d/local/system_tor
AA_BEGIN="# meldpunt begin"
AA_END="# meldpunt end"
TOR_MIN_VERSION=0.4.9.2 # onion-service proof-of-work defences (HiddenServicePoWDefensesEnabled)
TOR_HS_DIR=/var/lib/tor/meldpunt # the service's HiddenServiceDir (deploy/tor/meldpunt.conf)
ADDRESS_WAIT="${MELDPUNT_ADDRESS_WAIT:-180}"

NGINX_CONF=/etc/nginx/conf.d/meldpunt.conf
NGINX_TMPFILES=/etc/tmpfiles.d/meldpunt-https.conf
NGINX_PAGE=/usr/local/share/meldpunt/nginx/meldpunt-busy.html
# meldpunt's socket for nginx ([web] https_bind), in a directory of its own (see below).
HTTPS_SOCKET_DIR=/run/meldpunt-https
HTTPS_BIND="unix:$HTTPS_SOCKET_DIR/https.sock"
NGINX_DEFAULT_SITE=/etc/nginx/sites-enabled/default
# Left by install.sh when it disables Debian's default site (its default_server would collide
# with meldpunt's); uninstall.sh enables the site again.
NGINX_DEFAULT_MARK=/etc/nginx/meldpunt-disabled-default-site

START=1
HTTPS_NAMES=() HTTPS_CERT="" HTTPS_KEY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) START=0 ;;
    --https-proxy | --https-cert | --https-key)
      [ $# -ge 2 ] || { echo "install.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --https-proxy) HTTPS_NAMES+=("$2") ;;
        --https-cert) HTTPS_CERT="$2" ;;
        --https-key) HTTPS_KEY="$2" ;;
      esac
      shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "${#HTTPS_NAMES[@]}" -gt 0 ] || [ -n "$HTTPS_CERT$HTTPS_KEY" ]; then
  if [ "${#HTTPS_NAMES[@]}" -eq 0 ] || [ -z "$HTTPS_CERT" ] || [ -z "$HTTPS_KEY" ]; then
    echo "install.sh: --https-proxy NAME goes with --https-cert FILE and --https-key FILE" >&2; exit 2
  fi
  for name in "${HTTPS_NAMES[@]}"; do
    # The same rule as web.public_hosts (onion_service/config.py): a DNS name in lower case.
    if ! [[ "$name" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$ ]] || [[ "$name" == *.onion ]]; then
      echo "install.sh: --https-proxy $name is not a DNS name in lower case (report.example.org)" >&2; exit 2
    fi
  done
  for f in "$HTTPS_CERT" "$HTTPS_KEY"; do
    case "$f" in /*) ;; *) echo "install.sh: $f: give the certificate files by absolute path" >&2; exit 2 ;; esac
    # nginx reads them by these names: a character that ends a directive must not be in them.
    case "$f" in *[[:space:]\;\{\}\'\"\$]*) echo "install.sh: $f: no spaces, quotes, ; { } or \$ in the path" >&2; exit 2 ;; esac
  done
fi

say() { printf 'meldpunt install: %s\n' "$*"; }
die() { printf 'meldpunt install: %s\n' "$*" >&2; exit 1; }

if [ -z "$R" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo $0)"; fi

# --- helpers: each changes something only if it differs, and says so ------------------------

CHANGED_UNITS=0 CHANGED_TOR=0 CHANGED_APPARMOR=0 CHANGED_CODE=0

# ensure_owner PATH USER:GROUP
ensure_owner() {
  if [ "$(stat -c %U:%G "$R$1")" != "$2" ]; then chown "$2" "$R$1"; fi
}

# ensure_mode PATH MODE (octal, as stat -c %a prints it)
ensure_mode() {
  if [ "$(stat -c %a "$R$1")" != "$2" ]; then chmod "$2" "$R$1"; fi
}

# ensure_dir PATH MODE USER:GROUP
ensure_dir() {
  if [ ! -d "$R$1" ]; then mkdir -p "$R$1"; say "created $1"; fi
  ensure_mode "$1" "$2"
  ensure_owner "$1" "$3"
}

# put SOURCE_FILE PATH MODE USER:GROUP: returns 0 if the content changed, 1 if not
put() {
  local changed=1
  if ! cmp -s "$1" "$R$2"; then
    mkdir -p "$(dirname "$R$2")"
    # Beside the target and renamed over it: a reader never sees half a file.
    install -m "$3" "$1" "$R$2.meldpunt-new"
    mv -f "$R$2.meldpunt-new" "$R$2"
    say "installed $2"
    changed=0
  fi
  ensure_mode "$2" "$3"
  ensure_owner "$2" "$4"
  return "$changed"
}

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

version_at_least() { # version_at_least HAVE WANT
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- 1. Debian packages --------------------------------------------------------------------------

missing=()
for pkg in tor python3 python3-venv; do installed "$pkg" || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
tor_version="$(tor --version | sed -n 's/^Tor version \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1)"
if [ -z "$tor_version" ] || ! version_at_least "$tor_version" "$TOR_MIN_VERSION"; then
  die "tor ${tor_version:-?} is too old: meldpunt needs $TOR_MIN_VERSION or later for proof-of-work defences (Debian 12: apt-get install -t bookworm-security tor, or the Tor Project's repository)"
fi
getent group "$TOR_GROUP" >/dev/null || die "group $TOR_GROUP is missing: is Debian's tor package installed?"

# --- 2. the service user -------------------------------------------------------------------------

if ! getent passwd "$SVC_USER" >/dev/null; then
  useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
    --comment "meldpunt reporting form" "$SVC_USER"
  say "created system user $SVC_USER"
fi

# --- 3. the code: a virtual environment in /opt/meldpunt, owned by root --------------------------

# A fingerprint of what would be installed: reinstalling only when it changes keeps a second run
# from touching anything.
source_stamp() {
  local paths=() p
  for p in crypto onion_service pyproject.toml requirements deploy/meldpunt-check.py SECURITY.md; do
    if [ -e "$SRC/$p" ]; then paths+=("$p"); fi
  done
  (cd "$SRC" && find "${paths[@]}" -type f ! -name '*.pyc' ! -name '*.mo' -print0 | sort -z | xargs -0 sha256sum) |
    sha256sum | cut -d' ' -f1
}
stamp="$(source_stamp)"
if [ "$(cat "$R$VENV/.meldpunt-source" 2>/dev/null || true)" != "$stamp" ]; then
  say "installing meldpunt into $VENV"
  [ -x "$R$VENV/bin/python" ] || python3 -m venv "$R$VENV"
  pip_args=(install --disable-pip-version-check -q)
  if [ -n "${MELDPUNT_WHEELS:-}" ]; then pip_args+=(--no-index --find-links "$MELDPUNT_WHEELS"); fi
  # Every dependency at the version and with the SHA-256 of requirements/server.lock: a package
  # that differs from the one locked (on the index, a mirror or the way here) is refused. Then
  # meldpunt itself, from this tree, with nothing fetched for it (the lock holds its build backend).
  "$R$VENV/bin/pip" "${pip_args[@]}" --require-hashes -r "$SRC/requirements/server.lock"
  "$R$VENV/bin/pip" "${pip_args[@]}" --no-deps --no-index --no-build-isolation "$SRC"
  # The reporter's languages: compiled catalogs inside the installed package.
  site="$("$R$VENV/bin/python" -c 'import onion_service, os; print(os.path.dirname(onion_service.__file__))')"
  if [ -d "$site/web/translations" ]; then "$R$VENV/bin/pybabel" -q compile -d "$site/web/translations"; fi
  mkdir -p "$R$VENV/libexec" "$R$VENV/share/doc/meldpunt"
  { echo "#!$VENV/bin/python3 -I"; cat "$HERE/meldpunt-check.py"; } > "$TMP/meldpunt-check"
  install -m 0755 "$TMP/meldpunt-check" "$R$VENV/libexec/meldpunt-check"
  if [ -f "$SRC/SECURITY.md" ]; then install -m 0644 "$SRC/SECURITY.md" "$R$VENV/share/doc/meldpunt/SECURITY.md"; fi
  echo "$stamp" > "$R$VENV/.meldpunt-source"
  CHANGED_CODE=1
fi
ensure_owner "$VENV" root:root

cat > "$TMP/meldpunt-admin" <<EOF
#!/bin/sh
# Runs meldpunt's command line as the service user, so that files it makes in $DATA
# (the database's journal, for instance) stay the service's. Installed by deploy/install.sh.
#   meldpunt-admin export --config $CONF --out /media/usb/2026-11-22.tar
#   meldpunt-admin purge --config $CONF --ack /media/usb/ack
# The output directory must be writable by user $SVC_USER.
set -eu
umask 077
exec setpriv --reuid=$SVC_USER --regid=$SVC_USER --clear-groups --no-new-privs --inh-caps=-all \\
  $VENV/bin/meldpunt "\$@"
EOF
put "$TMP/meldpunt-admin" /usr/local/sbin/meldpunt-admin 755 root:root || true

# --- 4. configuration and data -------------------------------------------------------------------

ensure_dir "$CONF_DIR" 750 "root:$SVC_USER"
if [ ! -e "$R$CONF" ]; then
  # The example, with the one setting a sandboxed install needs: the web server on the unix
  # socket the system tor connects to (the service has no network).
  sed 's|^bind = .*|bind = "unix:/run/meldpunt/web.sock"|' "$HERE/meldpunt.toml.example" > "$TMP/meldpunt.toml"
  grep -q '^bind = "unix:/run/meldpunt/web.sock"$' "$TMP/meldpunt.toml" ||
    die "deploy/meldpunt.toml.example has no [web] bind line to adapt"
  install -m 0640 "$TMP/meldpunt.toml" "$R$CONF"
  chown "root:$SVC_USER" "$R$CONF"
  say "created $CONF from the example: put your staff recipients in it"
fi
ensure_dir "$DATA" 700 "$SVC_USER:$SVC_USER"

# --- 5. systemd: units and the socket directory --------------------------------------------------

put "$HERE/systemd/meldpunt.service" /etc/systemd/system/meldpunt.service 644 root:root && CHANGED_UNITS=1
put "$HERE/systemd/meldpunt-check.service" /etc/systemd/system/meldpunt-check.service 644 root:root && CHANGED_UNITS=1
put "$HERE/tmpfiles/meldpunt.conf" /etc/tmpfiles.d/meldpunt.conf 644 root:root && CHANGED_UNITS=1
# The system tor holds reports' plaintext in its buffers too: no swap, no core dumps for it either.
if put "$HERE/systemd/tor@default.service.d/meldpunt.conf" "$TOR_UNIT_DROPIN" 644 root:root; then
  CHANGED_UNITS=1 CHANGED_TOR=1
fi
if [ "$CHANGED_UNITS" = 1 ]; then systemctl daemon-reload; fi
systemd-tmpfiles --create "$R/etc/tmpfiles.d/meldpunt.conf"

# --- 6. the system tor ---------------------------------------------------------------------------

put "$HERE/tor/meldpunt.conf" "$TOR_DROPIN_DIR/meldpunt.conf" 644 root:root && CHANGED_TOR=1

# The key moves from meldpunt's data directory (where meldpunt kept it before it became a
# HiddenServiceDir service) into tor's, as it is: the file already has tor's hs_ed25519_secret_key
# layout, so the address stays the same. The old file is removed once tor holds the key.
OLD_KEY="$DATA/onion.key"
NEW_KEY="$TOR_HS_DIR/hs_ed25519_secret_key"
if [ -e "$R$OLD_KEY" ]; then
  ensure_dir "$TOR_HS_DIR" 700 "$TOR_GROUP:$TOR_GROUP"
  if [ ! -e "$R$NEW_KEY" ]; then
    install -m 0600 "$R$OLD_KEY" "$R$NEW_KEY.meldpunt-new"
    mv -f "$R$NEW_KEY.meldpunt-new" "$R$NEW_KEY"
    ensure_owner "$NEW_KEY" "$TOR_GROUP:$TOR_GROUP"
    say "moved the onion key from $OLD_KEY to $NEW_KEY (same address)"
    CHANGED_TOR=1
  elif ! cmp -s "$R$OLD_KEY" "$R$NEW_KEY"; then
    die "$OLD_KEY and $NEW_KEY hold different onion keys: keep the one whose address is published, move the other away, and run $0 again"
  fi
fi
if ! grep -Eq "^[[:space:]]*%include[[:space:]]+$TOR_DROPIN_DIR/?(\*\.conf)?[[:space:]]*$" "$R$TORRC"; then
  printf '\n%s\n%s\n' "$INCLUDE_MARK" "$TOR_INCLUDE" >> "$R$TORRC"
  say "added '$TOR_INCLUDE' to $TORRC"
  CHANGED_TOR=1
fi

# Debian runs tor under the AppArmor profile system_tor; its local additions let tor reach
# meldpunt's web socket.
if [ -d "$R/etc/apparmor.d" ]; then
  mkdir -p "$(dirname "$R$AA_LOCAL")"
  [ -e "$R$AA_LOCAL" ] || : > "$R$AA_LOCAL"
  # The file as it should be: whatever else is in it, then our block, once.
  awk -v b="$AA_BEGIN" -v e="$AA_END" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$R$AA_LOCAL" > "$TMP/aa"
  { echo "$AA_BEGIN"; cat "$HERE/apparmor/system_tor"; echo "$AA_END"; } >> "$TMP/aa"
  if ! cmp -s "$TMP/aa" "$R$AA_LOCAL"; then
    cat "$TMP/aa" > "$R$AA_LOCAL"
    say "allowed tor to reach /run/meldpunt/web.sock in $AA_LOCAL"
    CHANGED_APPARMOR=1
  fi
fi
if [ "$CHANGED_APPARMOR" = 1 ] && command -v apparmor_parser >/dev/null && command -v aa-enabled >/dev/null &&
  aa-enabled -q 2>/dev/null; then
  apparmor_parser -r -T -W "$R/etc/apparmor.d/system_tor"
fi

tor --defaults-torrc "$R/usr/share/tor/tor-service-defaults-torrc" -f "$R$TORRC" --verify-config >"$TMP/tor-verify" 2>&1 || {
  cat "$TMP/tor-verify" >&2
  die "tor does not accept its configuration ($TORRC and $TOR_DROPIN_DIR/); nothing was restarted"
}
systemctl enable --quiet tor.service
if [ "$CHANGED_TOR" = 1 ] || [ "$CHANGED_APPARMOR" = 1 ]; then
  say "restarting tor"
  systemctl restart tor.service
fi
if [ -e "$R$OLD_KEY" ] && cmp -s "$R$OLD_KEY" "$R$NEW_KEY"; then
  rm -f "$R$OLD_KEY"
  say "removed $OLD_KEY: the key is tor's now, and the web server holds none"
fi

# --- 7. the HTTPS reverse proxy (only with --https-proxy) ----------------------------------------

if [ "${#HTTPS_NAMES[@]}" -gt 0 ]; then
  CHANGED_NGINX=0
  missing=()
  for pkg in nginx libnginx-mod-http-headers-more-filter; do installed "$pkg" || missing+=("$pkg"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  for f in "$HTTPS_CERT" "$HTTPS_KEY"; do [ -r "$R$f" ] || die "cannot read $f (--https-cert, --https-key)"; done
  sed -e "s|@SERVER_NAMES@|${HTTPS_NAMES[*]}|g" -e "s|@CERTIFICATE@|$HTTPS_CERT|g" \
    -e "s|@CERTIFICATE_KEY@|$HTTPS_KEY|g" "$HERE/nginx/meldpunt.conf" > "$TMP/nginx-meldpunt.conf"
  put "$TMP/nginx-meldpunt.conf" "$NGINX_CONF" 644 root:root && CHANGED_NGINX=1
  # The page nginx answers with when it refuses a client past its limits.
  ensure_dir "$(dirname "$(dirname "$NGINX_PAGE")")" 755 root:root
  ensure_dir "$(dirname "$NGINX_PAGE")" 755 root:root
  put "$HERE/nginx/busy.html" "$NGINX_PAGE" 644 root:root && CHANGED_NGINX=1
  # One socket per kind of client: nginx's workers (www-data) reach meldpunt's https.sock in a
  # directory of its own, and never tor's web.sock (where only tor's connections are taken, each
  # with its PROXY line): /run/meldpunt stays meldpunt:debian-tor 0750 with no one else let in.
  printf '%s\n' "# Installed by meldpunt's deploy/install.sh --https-proxy: meldpunt's socket for nginx (www-data)." \
    "d $HTTPS_SOCKET_DIR 0750 $SVC_USER www-data -" > "$TMP/meldpunt-https.tmpfiles"
  put "$TMP/meldpunt-https.tmpfiles" "$NGINX_TMPFILES" 644 root:root || true
  systemd-tmpfiles --create "$R$NGINX_TMPFILES"
  # Before, nginx reached tor's socket through an ACL on /run/meldpunt: take it away now rather
  # than at the next boot.
  if [ -d "$R/run/meldpunt" ] && command -v getfacl >/dev/null &&
    getfacl -cp "$R/run/meldpunt" 2>/dev/null | grep -q '^user:www-data:'; then
    setfacl -x u:www-data "$R/run/meldpunt"
    say "removed nginx's access to /run/meldpunt (it now has $HTTPS_SOCKET_DIR)"
  fi
  # Debian's default site claims default_server on port 80 too; this server answers nothing
  # but meldpunt's names.
  if [ -L "$R$NGINX_DEFAULT_SITE" ] && [ "$(readlink "$R$NGINX_DEFAULT_SITE")" = /etc/nginx/sites-available/default ]; then
    rm -f "$R$NGINX_DEFAULT_SITE"
    echo "/etc/nginx/sites-available/default" > "$R$NGINX_DEFAULT_MARK"
    say "disabled nginx's default site ($NGINX_DEFAULT_SITE); uninstall.sh enables it again"
    CHANGED_NGINX=1
  fi
  nginx -t -q >"$TMP/nginx-test" 2>&1 || {
    cat "$TMP/nginx-test" >&2
    die "nginx does not accept its configuration ($NGINX_CONF); nginx was not reloaded"
  }
  systemctl enable --quiet nginx.service
  if [ "$CHANGED_NGINX" = 1 ]; then
    say "reloading nginx"
    systemctl reload-or-restart nginx.service
  fi
  # meldpunt answers 421 to names it was not given, and nginx reaches it only on https_bind:
  # say so now rather than after the first visit.
  if ! "$R$VENV/bin/python" -I - "$R$CONF" "$HTTPS_BIND" "${HTTPS_NAMES[@]}" <<'PY'; then
import sys, tomllib
with open(sys.argv[1], "rb") as fh:
    web = tomllib.load(fh).get("web", {})
hosts, wrong = web.get("public_hosts", []), []
missing = [n for n in sys.argv[3:] if n not in hosts]
if missing:
    wrong.append("web.public_hosts in the configuration does not list " + ", ".join(missing)
                 + ": meldpunt answers 421 on that name until it does")
if web.get("https_bind") != sys.argv[2]:
    wrong.append(f'web.https_bind in the configuration is not "{sys.argv[2]}": nginx reaches meldpunt there only')
if wrong:
    sys.exit("\n".join("meldpunt install: " + line for line in wrong))
PY
    say "add the names to web.public_hosts and set web.https_bind, then run $0 again with the same options"
  fi
fi

# --- 8. start, once the configuration is real ----------------------------------------------------

# As the service will run it: its user, and no other group (it needs nothing of tor's).
if ! setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --clear-groups --no-new-privs \
  "$R$VENV/bin/python" -I "$R$VENV/libexec/meldpunt-check" "$R$CONF"; then
  say "NOT STARTED: $CONF is not ready (see above)."
  say "Put your staff recipients (age1pq1…, from 'meldpunt keygen' on the offline machine) in it, then run $0 again."
  exit 0
fi
if [ "$START" = 0 ]; then
  say "installed; not started (--no-start). Start with: systemctl enable --now meldpunt.service"
  exit 0
fi
systemctl enable --quiet meldpunt.service
if [ "$CHANGED_CODE" = 1 ] || [ "$CHANGED_UNITS" = 1 ]; then
  systemctl restart meldpunt.service
else
  systemctl start meldpunt.service
fi

# The unit copies tor's hostname file there as meldpunt starts (before tor has published it).
address_file="$R$DATA/onion-address"
waited=0
while [ ! -s "$address_file" ] && [ "$waited" -lt "$ADDRESS_WAIT" ]; do sleep 1; waited=$((waited + 1)); done
if [ -s "$address_file" ]; then
  # tor publishes it within a minute or two once it has bootstrapped (systemctl status meldpunt
  # tor@default shows whether both are running).
  say "meldpunt is running. Its onion address:"
  echo
  echo "    http://$(head -n 1 "$address_file")/"
  echo
  say "publish it on the hotline's website (deploy/README.md: Onion-Location) and back up $NEW_KEY"
else
  say "meldpunt started, but no onion address yet after ${ADDRESS_WAIT}s (tor may still be bootstrapping)."
  say "Check: systemctl status meldpunt tor@default; journalctl -u meldpunt-check; cat $DATA/onion-address"
fi
