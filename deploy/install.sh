#!/usr/bin/env bash
# Installs meldpunt on Debian 12 beside the system tor, as root, from this source tree:
#
#   sudo deploy/install.sh            install or update, then start once the configuration is real
#   sudo deploy/install.sh --no-start install or update only: neither meldpunt nor tor is
#                                     (re)started (tor is told to restart when a setting of
#                                     its changed)
#   sudo deploy/install.sh --restore DIR --no-start
#                                     onto a fresh machine: the onion key and meldpunt.toml from
#                                     a backup in DIR (deploy/README.md, "Backup and restore"),
#                                     same onion address; never over a different key or config
#   sudo deploy/install.sh --backend FRONTEND.onion --database-proxy IP:PORT
#                                     a backend behind Onionbalance (deploy/onionbalance/README.md):
#                                     tor publishes this backend as an instance of FRONTEND (and no
#                                     stand-alone address), meldpunt answers for FRONTEND and reaches
#                                     the shared PostgreSQL at IP:PORT through meldpunt-db-proxy.socket
#   sudo deploy/install.sh --https-proxy NAME --https-cert FULLCHAIN --https-key KEY
#                                     also serve the form at https://NAME/ through nginx (repeat
#                                     --https-proxy for more names; each must be in web.public_hosts,
#                                     and web.https_bind must be unix:/run/meldpunt-https/https.sock;
#                                     the certificate files are the hotline's, PEM, for every NAME)
#
# Idempotent: run it again after editing /etc/meldpunt/meldpunt.toml, or after updating the source
# tree; a run with nothing to do changes nothing. meldpunt is restarted when its configuration,
# code or units changed (and the run says which), started otherwise. It never overwrites the
# configuration, nor a tor drop-in changed by hand (it says how to merge), and it does not start
# meldpunt while the configuration fails meldpunt-check (the example's placeholders fail it).
# What it puts where is listed in deploy/README.md; uninstall.sh reverses it.
#
# Exit status: 0 when meldpunt runs with a checked configuration (or, with --no-start, would);
# 3 when everything is installed but meldpunt is not started because its configuration is not
# ready (the last line says what to do); 1 on any other failure; 2 for a wrong option.
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

TORRC=/etc/tor/torrc
TOR_DROPIN_DIR=/etc/tor/torrc.d
TOR_UNIT_DROPIN=/etc/systemd/system/tor@default.service.d/meldpunt.conf
TOR_INCLUDE="%include $TOR_DROPIN_DIR/*.conf"
INCLUDE_MARK="# added by meldpunt's deploy/install.sh (uninstall.sh removes it)"
TOR_MIN_VERSION=0.4.9.2 # onion-service proof-of-work defences (HiddenServicePoWDefensesEnabled)
ADDRESS_WAIT="${MELDPUNT_ADDRESS_WAIT:-180}"

NGINX_CONF=/etc/nginx/conf.d/meldpunt.conf
NGINX_TMPFILES=/etc/tmpfiles.d/meldpunt-https.conf
NGINX_PAGE=/usr/local/share/meldpunt/nginx/meldpunt-busy.html
# certbot's webroot (certbot certonly --webroot -w ...): nginx serves /.well-known/acme-challenge/
# from here on the names' port 80.
ACME_WEBROOT=/var/www/meldpunt-acme
# meldpunt's socket for nginx ([web] https_bind), in a directory of its own (see below).
HTTPS_SOCKET_DIR=/run/meldpunt-https
HTTPS_BIND="unix:$HTTPS_SOCKET_DIR/https.sock"
NGINX_DEFAULT_SITE=/etc/nginx/sites-enabled/default
# Left by install.sh when it disables Debian's default site (its default_server would collide
# with meldpunt's); uninstall.sh enables the site again.
NGINX_DEFAULT_MARK=/etc/nginx/meldpunt-disabled-default-site

START=1 RESTORE="" BACKEND="" DB_PROXY=""
HTTPS_NAMES=() HTTPS_CERT="" HTTPS_KEY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) START=0 ;;
    --https-proxy | --https-cert | --https-key | --restore | --backend | --database-proxy)
      [ $# -ge 2 ] || { echo "install.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --https-proxy) HTTPS_NAMES+=("$2") ;;
        --https-cert) HTTPS_CERT="$2" ;;
        --https-key) HTTPS_KEY="$2" ;;
        --backend) BACKEND="$2"
          [[ "$2" =~ ^[a-z2-7]{56}\.onion$ ]] || { echo "install.sh: --backend $2 is not an onion address (56 letters and digits, then .onion)" >&2; exit 2; } ;;
        --database-proxy) DB_PROXY="$2"
          [[ "$2" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}$ ]] || { echo "install.sh: --database-proxy $2: the database server's IPv4 address and port on the private link (10.8.0.1:5432)" >&2; exit 2; } ;;
        --restore) RESTORE="$2"
          case "$2" in /*) ;; *) echo "install.sh: --restore $2: give the backup directory by absolute path" >&2; exit 2 ;; esac ;;
      esac
      shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if { [ -n "$BACKEND" ] && [ -z "$DB_PROXY" ]; } || { [ -z "$BACKEND" ] && [ -n "$DB_PROXY" ]; }; then
  echo "install.sh: --backend FRONTEND.onion goes with --database-proxy IP:PORT" >&2; exit 2
fi
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

CHANGED_UNITS=0 CHANGED_TOR=0 CHANGED_APPARMOR=0

# The paths, the user and the steps the Debian package's maintainer scripts take too.
# shellcheck source=SCRIPTDIR/steps.sh
. "$HERE/steps.sh"

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

step_user

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
# A virtual environment whose interpreter is gone (Debian's python3 upgraded under it, a dangling
# bin/python) or cannot import meldpunt is made again from scratch, whatever its stamp says.
if [ -e "$R$VENV" ] && ! "$R$VENV/bin/python" -I -c 'import onion_service.config, crypto' >/dev/null 2>&1; then
  say "the virtual environment in $VENV is broken (its python cannot import meldpunt): rebuilding it"
  rm -rf "$R$VENV"
fi
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
  check_script "$HERE/meldpunt-check.py" > "$TMP/meldpunt-check"
  install -m 0755 "$TMP/meldpunt-check" "$R$VENV/libexec/meldpunt-check"
  if [ -f "$SRC/SECURITY.md" ]; then install -m 0644 "$SRC/SECURITY.md" "$R$VENV/share/doc/meldpunt/SECURITY.md"; fi
  echo "$stamp" > "$R$VENV/.meldpunt-source"
fi
ensure_owner "$VENV" root:root

put "$HERE/meldpunt-admin" /usr/local/sbin/meldpunt-admin 755 root:root || true

# --- 4. configuration and data -------------------------------------------------------------------

step_conf_dir
if [ -n "$RESTORE" ]; then
  # A backup as deploy/README.md ("Backup and restore") makes it: meldpunt.toml and tor's
  # hs_ed25519_secret_key. Put in place only where nothing is yet, or the same is already there.
  if [ ! -f "$R$RESTORE/meldpunt.toml" ] || [ ! -f "$R$RESTORE/hs_ed25519_secret_key" ]; then
    die "--restore $RESTORE: the directory must hold meldpunt.toml and hs_ed25519_secret_key (deploy/README.md, Backup and restore)"
  fi
  if [ ! -e "$R$CONF" ]; then
    install -m 0640 "$R$RESTORE/meldpunt.toml" "$R$CONF"
    chown "root:$SVC_USER" "$R$CONF"
    say "restored $CONF from $RESTORE"
  elif ! cmp -s "$R$RESTORE/meldpunt.toml" "$R$CONF"; then
    die "--restore: $CONF exists and differs from $RESTORE/meldpunt.toml: move one of them away, then run $0 again"
  fi
fi
step_new_config "$HERE/meldpunt.toml.example" "$TMP"
step_data_dir

# --- 5. systemd: units and the socket directory --------------------------------------------------

put "$HERE/systemd/meldpunt.service" /etc/systemd/system/meldpunt.service 644 root:root && CHANGED_UNITS=1
put "$HERE/systemd/meldpunt-check.service" /etc/systemd/system/meldpunt-check.service 644 root:root && CHANGED_UNITS=1
put "$HERE/tmpfiles/meldpunt.conf" /etc/tmpfiles.d/meldpunt.conf 644 root:root && CHANGED_UNITS=1
# The system tor holds reports' plaintext in its buffers too: no swap, no core dumps for it either.
if put "$HERE/systemd/tor@default.service.d/meldpunt.conf" "$TOR_UNIT_DROPIN" 644 root:root; then
  CHANGED_UNITS=1 CHANGED_TOR=1
fi
# A backend (--backend): meldpunt answers for the frontend's address and reaches the shared
# database through the proxy's socket; the proxy is the one unit that touches the network.
BACKEND_DROPIN=/etc/systemd/system/meldpunt.service.d/backend.conf
FRONTEND_FILE="$CONF_DIR/frontend-address"
if [ -n "$BACKEND" ]; then
  put "$HERE/onionbalance/meldpunt.service.d/backend.conf" "$BACKEND_DROPIN" 644 root:root && CHANGED_UNITS=1
  put "$HERE/onionbalance/meldpunt-db-proxy.socket" /etc/systemd/system/meldpunt-db-proxy.socket 644 root:root &&
    CHANGED_UNITS=1
  db_ip="${DB_PROXY%:*}"
  sed -e "s|^ExecStart=/lib/systemd/systemd-socket-proxyd .*|ExecStart=/lib/systemd/systemd-socket-proxyd $DB_PROXY|" \
    -e "s|^IPAddressAllow=.*|IPAddressAllow=$db_ip|" "$HERE/onionbalance/meldpunt-db-proxy.service" > "$TMP/db-proxy.service"
  grep -qx "IPAddressAllow=$db_ip" "$TMP/db-proxy.service" || die "deploy/onionbalance/meldpunt-db-proxy.service has no IPAddressAllow= line to adapt"
  put "$TMP/db-proxy.service" /etc/systemd/system/meldpunt-db-proxy.service 644 root:root && CHANGED_UNITS=1
  echo "$BACKEND" > "$TMP/frontend-address"
  put "$TMP/frontend-address" "$FRONTEND_FILE" 644 root:root || true
elif [ -e "$R$BACKEND_DROPIN" ]; then
  die "this machine is a backend ($BACKEND_DROPIN): run $0 with --backend and --database-proxy as before, or uninstall.sh first"
fi
if [ "$CHANGED_UNITS" = 1 ]; then systemctl daemon-reload; fi
systemd-tmpfiles --create "$R/etc/tmpfiles.d/meldpunt.conf"

# --- 6. the system tor ---------------------------------------------------------------------------

# put_tuned SOURCE PATH: like put, for a file the sysadmin may tune (a conffile, in Debian's
# words). The hash of what this script last wrote is kept beside the configuration; a file that
# no longer has it was changed here and is left as it is, with a line saying how to merge.
# Returns 0 if it wrote the file.
put_tuned() {
  local stamp_file
  stamp_file="$CONF_DIR/.installed-$(basename "$(dirname "$2")")-$(basename "$2").sha256"
  local shipped have recorded
  shipped="$(sha256sum < "$1" | cut -d' ' -f1)"
  recorded="$(cat "$R$stamp_file" 2>/dev/null || true)"
  if [ -e "$R$2" ]; then
    have="$(sha256sum < "$R$2" | cut -d' ' -f1)"
    if [ "$have" != "$shipped" ] && [ "$have" != "$recorded" ]; then
      say "kept $2: it was changed on this machine. This version's is $1; to take it, merge by hand"
      say "  (diff -u $2 $1) or delete $2 and run $0 again"
      return 1
    fi
  fi
  local wrote=1
  put "$1" "$2" 644 root:root && wrote=0
  if [ "$recorded" != "$shipped" ]; then
    echo "$shipped" > "$R$stamp_file.meldpunt-new" && mv -f "$R$stamp_file.meldpunt-new" "$R$stamp_file"
    ensure_mode "$stamp_file" 644
    ensure_owner "$stamp_file" root:root
  fi
  return "$wrote"
}
if [ -z "$BACKEND" ]; then
  put_tuned "$HERE/tor/meldpunt.conf" "$TOR_DROPIN_DIR/meldpunt.conf" && CHANGED_TOR=1
else
  # A backend: tor publishes it as an Onionbalance instance only, with every other line of the
  # single server's drop-in (backend-tor.conf repeats them); the single server's drop-in goes,
  # or this tor would publish a second, stand-alone address on the same socket.
  put_tuned "$HERE/onionbalance/backend-tor.conf" "$TOR_DROPIN_DIR/meldpunt-backend.conf" && CHANGED_TOR=1
  single="$TOR_DROPIN_DIR/meldpunt.conf"
  if [ -e "$R$single" ]; then
    have="$(sha256sum < "$R$single" | cut -d' ' -f1)"
    if [ "$have" != "$(sha256sum < "$HERE/tor/meldpunt.conf" | cut -d' ' -f1)" ] &&
      [ "$have" != "$(cat "$R$CONF_DIR/.installed-torrc.d-meldpunt.conf.sha256" 2>/dev/null || true)" ]; then
      die "$single was changed on this machine; a backend must not have it (a second address): carry your changes into $TOR_DROPIN_DIR/meldpunt-backend.conf, remove it, and run $0 again"
    fi
    rm -f "$R$single" "$R$CONF_DIR/.installed-torrc.d-meldpunt.conf.sha256"
    say "removed $single: a backend is published through the frontend only"
    CHANGED_TOR=1
  fi
  OB_DIR=/var/lib/tor/meldpunt-backend
  ensure_dir "$OB_DIR" 700 "$TOR_GROUP:$TOR_GROUP"
  echo "MasterOnionAddress $BACKEND" > "$TMP/ob_config"
  put "$TMP/ob_config" "$OB_DIR/ob_config" 600 "$TOR_GROUP:$TOR_GROUP" && CHANGED_TOR=1
fi

if [ -n "$RESTORE" ]; then
  NEW_KEY="$TOR_HS_DIR/hs_ed25519_secret_key"
  ensure_dir "$TOR_HS_DIR" 700 "$TOR_GROUP:$TOR_GROUP"
  if [ ! -e "$R$NEW_KEY" ]; then
    install -m 0600 "$R$RESTORE/hs_ed25519_secret_key" "$R$NEW_KEY.meldpunt-new"
    mv -f "$R$NEW_KEY.meldpunt-new" "$R$NEW_KEY"
    ensure_owner "$NEW_KEY" "$TOR_GROUP:$TOR_GROUP"
    # tor writes hostname and hs_ed25519_public_key from the secret key as it starts.
    say "restored the onion key to $NEW_KEY (the backup's address)"
    CHANGED_TOR=1
  elif ! cmp -s "$R$RESTORE/hs_ed25519_secret_key" "$R$NEW_KEY"; then
    die "--restore: $NEW_KEY holds a different onion key than $RESTORE: keep the one whose address is published, move the other away, and run $0 again"
  fi
fi

# An older install's key (meldpunt's data directory) moves into tor's, same address (steps.sh);
# the old file is removed once tor holds the key (below).
if step_move_onion_key; then CHANGED_TOR=1; fi
if ! grep -Eq "^[[:space:]]*%include[[:space:]]+$TOR_DROPIN_DIR/?(\*\.conf)?[[:space:]]*$" "$R$TORRC"; then
  printf '\n%s\n%s\n' "$INCLUDE_MARK" "$TOR_INCLUDE" >> "$R$TORRC"
  say "added '$TOR_INCLUDE' to $TORRC"
  CHANGED_TOR=1
fi

# Debian runs tor under the AppArmor profile system_tor; its local additions let tor reach
# meldpunt's web socket.
if step_apparmor_add "$HERE/apparmor/system_tor" "$TMP"; then
  CHANGED_APPARMOR=1
  apparmor_reload
fi

tor --defaults-torrc "$R/usr/share/tor/tor-service-defaults-torrc" -f "$R$TORRC" --verify-config >"$TMP/tor-verify" 2>&1 || {
  cat "$TMP/tor-verify" >&2
  die "tor does not accept its configuration ($TORRC and $TOR_DROPIN_DIR/); nothing was restarted"
}
systemctl enable --quiet tor.service
# A restart --no-start held back is done by the next run that starts.
TOR_PENDING="$CONF_DIR/.tor-restart-pending"
if [ -e "$R$TOR_PENDING" ]; then CHANGED_TOR=1; fi
if [ "$CHANGED_TOR" = 1 ] || [ "$CHANGED_APPARMOR" = 1 ]; then
  if [ "$START" = 1 ]; then
    say "restarting tor: its meldpunt settings changed"
    systemctl restart tor.service
    rm -f "$R$TOR_PENDING"
  else
    # A tor restarted before the key to restore is in place makes a new one (a new address):
    # with --no-start, the sysadmin (or the next run without it) restarts tor.
    [ -e "$R$TOR_PENDING" ] || : > "$R$TOR_PENDING"
    say "tor's meldpunt settings changed; not restarted (--no-start). When ready: systemctl restart tor, or run $0 again"
  fi
fi
step_drop_moved_key

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
  # The certificate's fingerprint in the site: a certificate renewed at the same path changes the
  # site, so this run reloads nginx (certbot's deploy hook does the same between runs).
  printf '# certificate in use: sha256 %s\n' "$(sha256sum < "$R$HTTPS_CERT" | cut -d' ' -f1)" >> "$TMP/nginx-meldpunt.conf"
  put "$TMP/nginx-meldpunt.conf" "$NGINX_CONF" 644 root:root && CHANGED_NGINX=1
  # The page nginx answers with when it refuses a client past its limits.
  ensure_dir "$(dirname "$(dirname "$NGINX_PAGE")")" 755 root:root
  ensure_dir "$(dirname "$NGINX_PAGE")" 755 root:root
  put "$HERE/nginx/busy.html" "$NGINX_PAGE" 644 root:root && CHANGED_NGINX=1
  ensure_dir "$(dirname "$ACME_WEBROOT")" 755 root:root
  ensure_dir "$ACME_WEBROOT" 755 root:root
  # One socket per kind of client: nginx's workers (www-data) reach meldpunt's https.sock in a
  # directory of its own, and never tor's web.sock (where only tor's connections are taken, each
  # with its PROXY line): /run/meldpunt stays meldpunt:debian-tor 0750 with no one else let in.
  put "$HERE/tmpfiles/meldpunt-https.conf" "$NGINX_TMPFILES" 644 root:root || true
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
  # say so now rather than after the first visit. (A configuration that is not TOML at all is
  # meldpunt-check's to report, below, with the line it stops at.)
  if ! "$R$VENV/bin/python" -I - "$R$CONF" "$HTTPS_BIND" "${HTTPS_NAMES[@]}" <<'PY'; then
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as fh:
        web = tomllib.load(fh).get("web", {})
except (OSError, tomllib.TOMLDecodeError):
    sys.exit(0)
if not isinstance(web, dict):
    sys.exit(0)
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
    NOT_READY="add the names to web.public_hosts and set web.https_bind in $CONF, then run $0 again with the same options"
  fi
fi

# --- 8. start, once the configuration is real ----------------------------------------------------

# Not started: exit 3, the last line saying what to do (the lines above say why).
not_started() {
  say "NOT STARTED: $*" >&2
  exit 3
}

# As the service will run it: its user, and no other group (it needs nothing of tor's).
if ! setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --clear-groups --no-new-privs \
  "$R$VENV/bin/python" -I "$R$VENV/libexec/meldpunt-check" "$R$CONF" 2>"$TMP/check"; then
  cat "$TMP/check" >&2
  if grep -q 'recipients\[\|placeholder' "$TMP/check"; then
    not_started "put your hotline's details and staff recipients (age1pq1…, from 'meldpunt keygen' on the offline machine) in $CONF, then run $0 again"
  fi
  not_started "fix what meldpunt-check says above in $CONF, then run $0 again"
fi
cat "$TMP/check" >&2 # its warnings
if [ -n "${NOT_READY:-}" ]; then not_started "$NOT_READY"; fi

# What meldpunt runs with, as "CONFIGURATION CODE-AND-UNITS" hashes: a change to any of it takes
# effect only by a restart. The hashes of the last (re)start are kept in $VENV.
hash_of() { { cat "$@" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; } # a missing file: as if empty
APPLIED="$VENV/.meldpunt-applied"
applied="$(hash_of "$R$CONF") $(hash_of "$R$VENV/.meldpunt-source" "$R/etc/systemd/system/meldpunt.service" \
  "$R/etc/systemd/system/meldpunt-check.service" "$R/etc/tmpfiles.d/meldpunt.conf" "$R$BACKEND_DROPIN" \
  "$R$FRONTEND_FILE")"
last="$(cat "$R$APPLIED" 2>/dev/null || true)"
if [ "$START" = 0 ]; then
  if [ -n "$last" ] && [ "$last" != "$applied" ]; then
    say "meldpunt's configuration or code changed; not restarted (--no-start). To apply: systemctl restart meldpunt"
  fi
  say "installed; not started (--no-start). Start with: systemctl enable --now meldpunt.service"
  exit 0
fi
if [ -n "$BACKEND" ]; then systemctl enable --now --quiet meldpunt-db-proxy.socket; fi
systemctl enable --quiet meldpunt.service
if [ "$last" != "$applied" ]; then
  if [ -n "$last" ]; then
    why=()
    [ "${last%% *}" != "${applied%% *}" ] && why+=("$CONF")
    [ "${last#* }" != "${applied#* }" ] && why+=("its code or units")
    say "restarting meldpunt: ${why[*]} changed"
  else
    say "starting meldpunt"
  fi
  systemctl restart meldpunt.service
  echo "$applied" > "$R$APPLIED"
else
  systemctl start meldpunt.service
fi
# systemctl returns once the unit started (Type=notify: once gunicorn listens), or failed.
systemctl is-active --quiet meldpunt.service ||
  die "meldpunt.service is not running: see journalctl -u meldpunt -u meldpunt-check, fix, and run $0 again"

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
  say "publish it on the hotline's website (deploy/README.md: Onion-Location) and back up $ONION_KEY"
else
  say "meldpunt started, but no onion address yet after ${ADDRESS_WAIT}s (tor may still be bootstrapping)."
  say "Check: systemctl status meldpunt tor@default; journalctl -u meldpunt-check; cat $DATA/onion-address"
fi
