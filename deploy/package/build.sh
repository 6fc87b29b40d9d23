#!/usr/bin/env bash
# `make deb`: from this tree, in dist/,
#   meldpunt_VERSION_amd64.deb                      the server (deploy/debian/), for Debian 12
#   meldpunt-offline-wheelhouse-VERSION.tar.gz      meldpunt and its offline dependencies as wheels,
#                                                   with a hash-locked requirements file, for the
#                                                   staff's air-gapped machine
#   SHA256SUMS                                      both files' SHA-256
# then lintian on the package: an error fails the build (MELDPUNT_LINTIAN=0 skips it, for the
# tests, which run lintian themselves once).
#
# VERSION is pyproject.toml's version, then +git, the number of commits and the commit
# (0.1.0+git812.6195541; +dirty when the tree has uncommitted changes): a later commit is a later
# version to dpkg. MELDPUNT_DEB_VERSION=V sets another.
#
# The only network access: `pip download --require-hashes` of requirements/server.lock into
# build/wheelhouse, when a file is missing there (kept between builds; every file checked against
# the lock's SHA-256 each time).
# The package build itself installs from that directory alone (--no-index).
set -euo pipefail
umask 022

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PY:-$SRC/.venv/bin/python}"
BUILD="$SRC/build/deb"
WHEELHOUSE="$SRC/build/wheelhouse"
DIST="${MELDPUNT_DIST:-$SRC/dist}"
# The offline machine's packages (pyproject.toml's dependencies, and theirs): nothing of the server.
OFFLINE_DEPS=(cryptography click cffi pycparser)

say() { printf 'make deb: %s\n' "$*"; }
die() { printf 'make deb: %s\n' "$*" >&2; exit 1; }

# This machine's pip settings (an index, find-links, constraints) must not decide what is built.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^PIP_' || true)
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

[ -x "$PY" ] || die "$PY is missing: make install first"
cd "$SRC"

# --- the version and the build's time, from the tree ------------------------------------------
base="$(/usr/bin/python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
if git rev-parse --git-dir >/dev/null 2>&1; then
  version="$base+git$(git rev-list --count HEAD).$(git rev-parse --short=7 HEAD)"
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then version="$version+dirty"; fi
  SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"
  describe="git commit $(git rev-parse HEAD)"
else
  version="$base"
  SOURCE_DATE_EPOCH="$(stat -c %Y pyproject.toml)"
  describe="a source tree without git"
fi
version="${MELDPUNT_DEB_VERSION:-$version}"
export SOURCE_DATE_EPOCH
say "version $version"

# --- the source: what the package is built from, and nothing else -----------------------------
rm -rf "$BUILD"
mkdir -p "$BUILD/src" "$WHEELHOUSE" "$DIST"
parts=(crypto onion_service meldpunt extension deploy requirements pyproject.toml README.md SECURITY.md)
git ls-files -z --cached --others --exclude-standard -- "${parts[@]}" |
  tar --null --ignore-failed-read -T - -cf - | tar -C "$BUILD/src" -xf -
# The packaging lives beside the other deployment files; dpkg-buildpackage wants it at the top.
mv "$BUILD/src/deploy/debian" "$BUILD/src/debian"
# The reporter's languages: the compiled catalogues are build output, not in git.
"$PY" -m babel.messages.frontend -q compile -d "$BUILD/src/onion_service/web/translations"

date_r="$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
cat > "$BUILD/src/debian/changelog" <<EOF
meldpunt ($version) bookworm; urgency=medium

  * Built from $describe.

 -- $(sed -n 's/^Maintainer: //p' deploy/debian/control)  $date_r
EOF

# --- the wheelhouse: every package of the lock, each checked against its SHA-256 ---------------
# From the files already there when they are all there (a rebuild needs no network), else from
# PyPI; either way pip refuses a file whose SHA-256 is not the lock's. stem comes as source: pip
# reads its metadata with this environment's setuptools (dev.lock's), fetching no build tool.
if "$PY" -m pip download -q --require-hashes --no-deps --no-build-isolation --no-index --find-links "$WHEELHOUSE" \
  -r requirements/server.lock -d "$WHEELHOUSE" >/dev/null 2>&1; then
  say "requirements/server.lock: every file in $WHEELHOUSE, hash-checked"
else
  say "downloading requirements/server.lock into $WHEELHOUSE (hash-checked)"
  "$PY" -m pip download -q --require-hashes --no-deps --no-build-isolation -r requirements/server.lock -d "$WHEELHOUSE"
fi

# --- the package ----------------------------------------------------------------------------------
say "building the package"
(cd "$BUILD/src" && PATH=/usr/sbin:/usr/bin:/sbin:/bin MELDPUNT_WHEELHOUSE="$WHEELHOUSE" \
  dpkg-buildpackage -us -uc -b >"$BUILD/dpkg-buildpackage.log" 2>&1) || {
  tail -n 40 "$BUILD/dpkg-buildpackage.log" >&2
  die "dpkg-buildpackage failed (whole log: $BUILD/dpkg-buildpackage.log)"
}
deb="meldpunt_${version}_amd64.deb"
cp "$BUILD/$deb" "$DIST/$deb"

# --- the offline machine's wheelhouse ------------------------------------------------------------
say "building the offline wheelhouse"
name="meldpunt-offline-wheelhouse-$version"
off="$BUILD/$name"
mkdir -p "$off"
"$PY" -m pip wheel -q --no-deps --no-index --no-build-isolation -w "$off" "$BUILD/src"
for dep in "${OFFLINE_DEPS[@]}"; do
  compgen -G "$WHEELHOUSE/$dep-*.whl" >/dev/null || die "no wheel of $dep in $WHEELHOUSE"
  cp "$WHEELHOUSE/$dep"-*.whl "$off/"
done
# Their lines of the lock, as they are (every hash pip accepts), and meldpunt's wheel by its own.
"$PY" -I - "$SRC/requirements/server.lock" "$off" "${OFFLINE_DEPS[@]}" > "$off/requirements.txt" <<'PY'
import glob, hashlib, os, re, sys
lock, out, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
blocks, current = {}, None
for line in open(lock, encoding="utf-8"):
    start = re.match(r"^([a-z0-9_.-]+)==", line)
    if start:
        current = start.group(1)
        blocks[current] = [line.rstrip("\n")]
    elif current and line.startswith("    --hash="):
        blocks[current].append(line.rstrip("\n"))
    else:
        current = None
missing = wanted - blocks.keys()
if missing:
    sys.exit(f"not in the lock: {sorted(missing)}")
print("# meldpunt and what it needs on the offline machine, each with its SHA-256: install with")
print("#   pip install --no-index --find-links . --require-hashes -r requirements.txt")
for name in sorted(wanted):
    print("\n".join(blocks[name]).rstrip(" \\"))
(wheel,) = glob.glob(os.path.join(out, "meldpunt-*.whl"))
version = os.path.basename(wheel).split("-")[1]
print(f"meldpunt=={version} --hash=sha256:{hashlib.sha256(open(wheel, 'rb').read()).hexdigest()}")
PY
cat > "$off/README.txt" <<EOF
meldpunt $version for the staff's offline machine: the command line (meldpunt open, find, case,
keygen, ...) and only what it needs (cryptography, click, cffi, pycparser); none of the server's
packages. Check the archive against SHA256SUMS from the same build, then, with Python 3.11:

    python3 -m venv ~/meldpunt
    ~/meldpunt/bin/pip install --no-index --find-links . --require-hashes -r requirements.txt
    ~/meldpunt/bin/meldpunt --help
EOF
(cd "$off" && sha256sum ./*.whl > SHA256SUMS)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$BUILD" -czf "$DIST/$name.tar.gz" "$name"

(cd "$DIST" && sha256sum "$deb" "$name.tar.gz" > SHA256SUMS)
say "built $DIST/$deb"
say "built $DIST/$name.tar.gz"
say "SHA-256 in $DIST/SHA256SUMS"

# --- lintian ----------------------------------------------------------------------------------------
if [ "${MELDPUNT_LINTIAN:-1}" = 1 ]; then
  say "lintian $deb"
  lintian --fail-on error --display-info "$DIST/$deb" || die "lintian found errors in $deb"
fi
