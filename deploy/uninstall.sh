#!/usr/bin/env bash
# Reverses deploy/install.sh, as root:
#
#   sudo deploy/uninstall.sh                   remove the service, its code and its tor settings;
#                                              keep /etc/meldpunt, /var/lib/meldpunt, the onion key
#                                              (/var/lib/tor/meldpunt) and the user
#   sudo deploy/uninstall.sh --purge           also delete the configuration, the data, the onion
#                                              key (the address is lost for good) and the user;
#                                              refused while reports remain
#   sudo deploy/uninstall.sh --purge --force   ... even if reports were never exported and purged
#
# Debian's tor package stays installed (other software may use it); its configuration is put back
# as it was. So does nginx, if install.sh --https-proxy set it up: meldpunt's site goes, and
# Debian's default site comes back if install.sh had disabled it. MELDPUNT_ROOT=DIR is for the tests, as in install.sh.
set -euo pipefail
umask 022

R="${MELDPUNT_ROOT:-}"
R="${R%/}"

TORRC=/etc/tor/torrc
TOR_DROPIN_DIR=/etc/tor/torrc.d
INCLUDE_MARK="# added by meldpunt's deploy/install.sh (uninstall.sh removes it)"
NGINX_CONF=/etc/nginx/conf.d/meldpunt.conf
NGINX_TMPFILES=/etc/tmpfiles.d/meldpunt-https.conf
NGINX_PAGE=/usr/local/share/meldpunt/nginx/meldpunt-busy.html
NGINX_ERROR_LOG=/var/log/nginx/meldpunt.error.log
NGINX_DEFAULT_SITE=/etc/nginx/sites-enabled/default
NGINX_DEFAULT_MARK=/etc/nginx/meldpunt-disabled-default-site

PURGE=0 FORCE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    --force) FORCE=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf 'meldpunt uninstall: %s\n' "$*"; }
die() { printf 'meldpunt uninstall: %s\n' "$*" >&2; exit 1; }

# The paths, the user and the steps install.sh and the Debian package share.
# shellcheck source=SCRIPTDIR/steps.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/steps.sh"

if [ -z "$R" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo $0)"; fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Before anything is removed: --purge must not destroy reports nobody has read.
if [ "$PURGE" = 1 ] && [ "$FORCE" = 0 ] && [ -d "$R$DATA" ]; then
  if [ ! -x "$R$VENV/bin/python" ] || [ ! -f "$R$CONF" ]; then
    die "cannot count the stored reports (meldpunt's code or configuration is gone); use --purge --force to delete $DATA anyway"
  fi
  remaining="$(setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --clear-groups --no-new-privs "$R$VENV/bin/python" -I -c '
import os, sys
from crypto.errors import Error
from onion_service.config import load_config
from onion_service.store import open_store
try:
    url = load_config(sys.argv[1]).database_url
    if url.startswith("sqlite:///"):
        path = sys.argv[2] + url[len("sqlite:///"):]  # below MELDPUNT_ROOT in the tests
        if not os.path.exists(path):
            sys.exit(print(0))
        url = "sqlite:///" + path
    with open_store(url) as store:
        print(store.count())
except Error as exc:
    sys.exit(f"meldpunt uninstall: {exc}")
' "$R$CONF" "$R")" || die "cannot count the stored reports; use --purge --force to delete $DATA anyway"
  if [ "$remaining" != 0 ]; then
    die "$remaining reports are still on the server: export them, open them offline and purge with the acknowledgement first (or use --purge --force)"
  fi
fi

# --- the service -------------------------------------------------------------------------------

units_changed=0
if [ -e "$R/etc/systemd/system/meldpunt.service" ]; then
  systemctl disable --now --quiet meldpunt.service || true # already stopped or never enabled
fi
# A backend's (install.sh --backend): the database proxy, stopped before its units go.
if [ -e "$R/etc/systemd/system/meldpunt-db-proxy.socket" ]; then
  systemctl disable --now --quiet meldpunt-db-proxy.socket meldpunt-db-proxy.service || true
fi
for f in /etc/systemd/system/meldpunt.service /etc/systemd/system/meldpunt-check.service /etc/tmpfiles.d/meldpunt.conf \
  /etc/systemd/system/tor@default.service.d/meldpunt.conf /etc/systemd/system/meldpunt.service.d/backend.conf \
  /etc/systemd/system/meldpunt-db-proxy.socket /etc/systemd/system/meldpunt-db-proxy.service; do
  if [ -e "$R$f" ]; then rm -f "$R$f"; say "removed $f"; units_changed=1; fi
done
for d in /etc/systemd/system/meldpunt.service.d /etc/systemd/system/tor@default.service.d; do
  if [ -d "$R$d" ] && [ -z "$(ls -A "$R$d")" ]; then rmdir "$R$d"; fi
done
if [ "$units_changed" = 1 ]; then systemctl daemon-reload; fi
for d in /run/meldpunt /run/meldpunt-https; do
  if [ -d "$R$d" ]; then rm -rf "$R$d"; fi
done
for p in "$VENV" /usr/local/sbin/meldpunt-admin; do
  if [ -e "$R$p" ]; then rm -rf "$R$p"; say "removed $p"; fi
done

# --- the HTTPS reverse proxy (install.sh --https-proxy) ----------------------------------------

nginx_changed=0
for f in "$NGINX_CONF" "$NGINX_TMPFILES" "$NGINX_ERROR_LOG" "$NGINX_PAGE"; do
  if [ -e "$R$f" ]; then rm -f "$R$f"; say "removed $f"; nginx_changed=1; fi
done
for d in /usr/local/share/meldpunt/nginx /usr/local/share/meldpunt; do
  if [ -d "$R$d" ]; then rmdir --ignore-fail-on-non-empty "$R$d"; fi
done
# certbot's webroot: only ever challenge files, which certbot removes after each use.
if [ -d "$R/var/www/meldpunt-acme" ]; then
  rm -rf "$R/var/www/meldpunt-acme"
  say "removed /var/www/meldpunt-acme"
  rmdir --ignore-fail-on-non-empty "$R/var/www"
fi
if [ -f "$R$NGINX_DEFAULT_MARK" ]; then
  site="$(cat "$R$NGINX_DEFAULT_MARK")"
  if [ -e "$R$site" ] && [ ! -e "$R$NGINX_DEFAULT_SITE" ] && [ ! -L "$R$NGINX_DEFAULT_SITE" ]; then
    ln -s "$site" "$R$NGINX_DEFAULT_SITE"
    say "enabled nginx's default site again"
  fi
  rm -f "$R$NGINX_DEFAULT_MARK"
  nginx_changed=1
fi
if [ "$nginx_changed" = 1 ]; then
  systemctl reload nginx.service || say "nginx did not reload; check: systemctl status nginx"
fi

# --- the system tor ------------------------------------------------------------------------------

tor_changed=0
for f in "$TOR_DROPIN_DIR/meldpunt.conf" "$TOR_DROPIN_DIR/meldpunt-backend.conf"; do
  if [ -e "$R$f" ]; then
    rm -f "$R$f"
    say "removed $f"
    tor_changed=1
  fi
done
# install.sh's notes: the hashes it last wrote, a restart --no-start held back.
rm -f "$R$CONF_DIR/.installed-torrc.d-meldpunt.conf.sha256" "$R$CONF_DIR/.installed-torrc.d-meldpunt-backend.conf.sha256" \
  "$R$CONF_DIR/.tor-restart-pending"
if [ -d "$R$TOR_DROPIN_DIR" ] && [ -z "$(ls -A "$R$TOR_DROPIN_DIR")" ]; then
  rmdir "$R$TOR_DROPIN_DIR"
  # Our include line (and the blank line before it) goes only when nothing else uses the directory.
  if grep -qxF "$INCLUDE_MARK" "$R$TORRC" 2>/dev/null; then
    awk -v m="$INCLUDE_MARK" '
      $0 == m { drop = 1; if (held) held = 0; next }
      drop { drop = 0; next }
      held { print ""; held = 0 }
      $0 == "" { held = 1; next }
      { print }
      END { if (held) print "" }' "$R$TORRC" > "$TMP/torrc"
    cat "$TMP/torrc" > "$R$TORRC"
    say "removed the %include line meldpunt added to $TORRC"
  fi
fi
aa_changed=0
if step_apparmor_remove "$TMP"; then
  aa_changed=1
  apparmor_reload
fi
if [ "$tor_changed" = 1 ] || [ "$aa_changed" = 1 ]; then
  say "restarting tor"
  systemctl restart tor.service || say "tor did not restart; check: systemctl status tor@default"
fi

# --- data, configuration, user -------------------------------------------------------------------

if [ "$PURGE" = 0 ]; then
  say "kept $CONF_DIR, $DATA (reports), /var/lib/tor/meldpunt (the onion key) and user $SVC_USER; --purge deletes them"
  exit 0
fi
for p in "$DATA" "$CONF_DIR" /var/lib/tor/meldpunt /var/lib/tor/meldpunt-backend; do
  if [ -e "$R$p" ]; then rm -rf "$R$p"; say "deleted $p"; fi
done
if getent passwd "$SVC_USER" >/dev/null; then
  userdel "$SVC_USER"
  say "removed user $SVC_USER"
fi
say "The deleted files may still be readable on the disk itself until overwritten; on an encrypted disk, that is the point of the encryption."
