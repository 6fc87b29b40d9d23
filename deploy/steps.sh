# The install steps that deploy/install.sh and the Debian package's maintainer scripts
# (deploy/debian/meldpunt.postinst, deploy/debian/meldpunt.postrm) share, written once. Sourced, never run:
# the caller sets R (the root every path is below, without a trailing slash: "" on a real machine,
# MELDPUNT_ROOT in install.sh's tests, DPKG_ROOT under dpkg --root) and defines `say` and `die`.
# Each step changes something only if it differs, and says so.
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the scripts that source this file
VENV=/opt/meldpunt
CONF_DIR=/etc/meldpunt
CONF="$CONF_DIR/meldpunt.toml"
DATA=/var/lib/meldpunt
SVC_USER=meldpunt
TOR_GROUP=debian-tor
TOR_HS_DIR=/var/lib/tor/meldpunt # the service's HiddenServiceDir (deploy/tor/meldpunt.conf)
ONION_KEY="$TOR_HS_DIR/hs_ed25519_secret_key"
OLD_KEY="$DATA/onion.key" # where meldpunt kept it before tor published the service itself
AA_LOCAL=/etc/apparmor.d/local/system_tor
AA_BEGIN="# meldpunt begin"
AA_END="# meldpunt end"

# A root with its own user database (dpkg --root: the test's, or a system being built) is asked
# about users there, by number: the running system's names mean nothing in it. Without one (the
# real machine, or install.sh's tests, whose stand-ins answer for getent and chown), by name.
own_user_db() { [ -n "$R" ] && [ -f "$R/etc/passwd" ]; }

# id_of passwd|group NAME: the number in the root's database, or the name itself.
id_of() {
  if own_user_db; then
    awk -F: -v n="$2" '$1 == n { print $3; found = 1 } END { exit !found }' "$R/etc/$1" ||
      die "no $1 entry $2 in $R/etc/$1"
  else
    echo "$2"
  fi
}

has_user() {
  if own_user_db; then grep -q "^$1:" "$R/etc/passwd"; else getent passwd "$1" >/dev/null; fi
}

# ensure_owner PATH USER:GROUP
ensure_owner() {
  local want have
  want="$(id_of passwd "${2%%:*}"):$(id_of group "${2#*:}")"
  if own_user_db; then have="$(stat -c %u:%g "$R$1")"; else have="$(stat -c %U:%G "$R$1")"; fi
  if [ "$have" != "$want" ]; then chown "$want" "$R$1"; fi
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

# The service user: a system user with no shell and no home of its own.
step_user() {
  if ! has_user "$SVC_USER"; then
    local prefix=()
    if own_user_db; then prefix=(--prefix "$R"); fi
    useradd "${prefix[@]}" --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
      --comment "meldpunt reporting form" "$SVC_USER"
    say "created system user $SVC_USER"
  fi
}

# /etc/meldpunt: root's, readable by the service (the configuration holds only public data).
step_conf_dir() {
  ensure_dir "$CONF_DIR" 750 "root:$SVC_USER"
}

# step_new_config EXAMPLE TMPDIR: meldpunt.toml from the example where there is none yet, with the one
# setting a sandboxed install needs: the web server on the unix socket the system tor connects to
# (the service has no network). An existing configuration is never rewritten; its owner and mode
# are made the service's (a backup put in place by hand before the user existed, for one).
step_new_config() {
  if [ -e "$R$CONF" ]; then
    ensure_mode "$CONF" 640
    ensure_owner "$CONF" "root:$SVC_USER"
    return 0
  fi
  sed 's|^bind = .*|bind = "unix:/run/meldpunt/web.sock"|' "$1" > "$2/meldpunt.toml"
  grep -q '^bind = "unix:/run/meldpunt/web.sock"$' "$2/meldpunt.toml" ||
    die "$1 has no [web] bind line to adapt"
  install -m 0640 "$2/meldpunt.toml" "$R$CONF"
  ensure_owner "$CONF" "root:$SVC_USER"
  say "created $CONF from the example: put your staff recipients in it"
}

# /var/lib/meldpunt: the database and the form-token key, the service's alone.
step_data_dir() {
  ensure_dir "$DATA" 700 "$SVC_USER:$SVC_USER"
}

# step_apparmor_add SNIPPET TMPDIR: Debian runs tor under the AppArmor profile system_tor; its local
# additions (a file no package ships, made by tor's postinst) get a marked block that lets tor reach
# meldpunt's web socket. Returns 0 if the file changed.
step_apparmor_add() {
  [ -d "$R/etc/apparmor.d" ] || return 1
  mkdir -p "$(dirname "$R$AA_LOCAL")"
  [ -e "$R$AA_LOCAL" ] || : > "$R$AA_LOCAL"
  # The file as it should be: whatever else is in it, then our block, once.
  awk -v b="$AA_BEGIN" -v e="$AA_END" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$R$AA_LOCAL" > "$2/aa"
  { echo "$AA_BEGIN"; cat "$1"; echo "$AA_END"; } >> "$2/aa"
  if cmp -s "$2/aa" "$R$AA_LOCAL"; then return 1; fi
  cat "$2/aa" > "$R$AA_LOCAL"
  say "allowed tor to reach /run/meldpunt/web.sock in $AA_LOCAL"
}

# step_apparmor_remove TMPDIR: the marked block out again. Returns 0 if the file changed.
step_apparmor_remove() {
  grep -qxF "$AA_BEGIN" "$R$AA_LOCAL" 2>/dev/null || return 1
  awk -v b="$AA_BEGIN" -v e="$AA_END" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$R$AA_LOCAL" > "$1/aa"
  cat "$1/aa" > "$R$AA_LOCAL"
  say "removed meldpunt's lines from $AA_LOCAL"
}

# The profile loaded again, where AppArmor runs (never for a root other than /).
apparmor_reload() {
  if [ -z "$R" ] && command -v apparmor_parser >/dev/null && command -v aa-enabled >/dev/null &&
    aa-enabled -q 2>/dev/null; then
    apparmor_parser -r -T -W /etc/apparmor.d/system_tor
  fi
}

# check_script SOURCE: meldpunt-check as the virtual environment runs it (isolated: no user site,
# no current directory on the path), on stdout; installed as $VENV/libexec/meldpunt-check.
check_script() {
  echo "#!$VENV/bin/python -I"
  cat "$1"
}

# The key moves from meldpunt's data directory (where meldpunt kept it before it became a
# HiddenServiceDir service) into tor's, as it is: the file already has tor's hs_ed25519_secret_key
# layout, so the address stays the same. Returns 0 if it moved (tor must restart to use it);
# step_drop_moved_key removes the old file once tor holds the key.
step_move_onion_key() {
  [ -e "$R$OLD_KEY" ] || return 1
  ensure_dir "$TOR_HS_DIR" 700 "$TOR_GROUP:$TOR_GROUP"
  if [ ! -e "$R$ONION_KEY" ]; then
    install -m 0600 "$R$OLD_KEY" "$R$ONION_KEY.meldpunt-new"
    mv -f "$R$ONION_KEY.meldpunt-new" "$R$ONION_KEY"
    ensure_owner "$ONION_KEY" "$TOR_GROUP:$TOR_GROUP"
    say "moved the onion key from $OLD_KEY to $ONION_KEY (same address)"
    return 0
  elif ! cmp -s "$R$OLD_KEY" "$R$ONION_KEY"; then
    die "$OLD_KEY and $ONION_KEY hold different onion keys: keep the one whose address is published, move the other away, and run $0 again"
  fi
  return 1
}

step_drop_moved_key() {
  if [ -e "$R$OLD_KEY" ] && cmp -s "$R$OLD_KEY" "$R$ONION_KEY"; then
    rm -f "$R$OLD_KEY"
    say "removed $OLD_KEY: the key is tor's now, and the web server holds none"
  fi
}
