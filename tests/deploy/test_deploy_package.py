"""The Debian package (make deb): built once per session; installed, upgraded to a newer build,
removed and purged with the real dpkg in a root the test makes, with nothing of this machine
changed; lintian without an error; the offline wheelhouse installs the staff's command line alone."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.deploy.packagekit import ROOT, Built, DebRoot, build, clean_env, host_state, newer_build
from tests.harness import write_config

NEEDED = ("dpkg-buildpackage", "dh_virtualenv", "lintian", "tor")
needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in NEEDED),
    reason="needs debhelper, dh-virtualenv, lintian and tor (make test-deps)",
)
# dpkg --root as the package's files and the maintainer scripts' chown want them: as root.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="dpkg --root gives files to other users: run as root")
MAINTAINER_SCRIPTS = sorted((ROOT / "deploy/debian").glob("meldpunt.p*[mt]"))

TOR_DROPIN = "/etc/tor/torrc.d/meldpunt.conf"
# Run by the package's own interpreter: the Dutch form page, from the app as gunicorn serves it.
SERVE_ONE_PAGE = """
import sys
from onion_service.config import load_config
from onion_service.store import open_store
from onion_service.web.app import create_app
config = load_config(sys.argv[1])
with open_store(config.database_url) as store:
    page = create_app(config, store=store).test_client().get("/nl/")
    print(page.status_code, b"<form" in page.data)
"""
NGINX_SITE = "/etc/nginx/sites-available/meldpunt"
CONFFILES = {TOR_DROPIN, NGINX_SITE, "/etc/tor/torrc-meldpunt"}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    return build(tmp_path_factory.mktemp("dist"))


def mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def owner(p: Path) -> tuple[int, int]:
    st = p.lstat()
    return st.st_uid, st.st_gid


def test_maintainer_scripts_pass_shellcheck():
    assert len(MAINTAINER_SCRIPTS) == 4, MAINTAINER_SCRIPTS
    result = subprocess.run(
        ["shellcheck", "--external-sources", *map(str, MAINTAINER_SCRIPTS)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout


def test_the_tor_dropin_changes_only_the_torrc_debian_starts_tor_with():
    """The drop-in repeats tor@default.service's two lines that name /etc/tor/torrc, with -f
    pointing at the package's file and nothing else changed."""
    unit = Path("/lib/systemd/system/tor@default.service")
    if not unit.exists():
        pytest.skip("needs Debian's tor")
    ours = (ROOT / "deploy/package/tor@default.service.d/meldpunt-torrc.conf").read_text()
    debian = [line for line in unit.read_text().splitlines() if line.startswith(("ExecStartPre=", "ExecStart="))]
    mine = [line for line in ours.splitlines() if re.match(r"ExecStart(Pre)?=.", line)]
    assert mine == [line.replace("-f /etc/tor/torrc ", "-f /etc/tor/torrc-meldpunt ") for line in debian]
    assert any("-f /etc/tor/torrc " in line for line in debian)


@pytest.mark.slow
@needs_tools
@needs_root
def test_install_upgrade_remove_purge_in_a_root(built: Built, tmp_path: Path, staff):
    before = host_state()
    box = DebRoot(tmp_path)
    torrc = box.path("/etc/tor/torrc").read_bytes()

    # --- install ---------------------------------------------------------------------------------
    out = box.dpkg("-i", str(built.deb))
    assert box.status() == f"install ok installed {built.version}"
    assert "created system user meldpunt" in out.stdout
    uid, gid = box.ids("meldpunt")
    tor_gid = box.gid("debian-tor")
    expect = {  # path: (mode, uid, gid)
        "/etc/meldpunt": (0o750, 0, gid),
        "/etc/meldpunt/meldpunt.toml": (0o640, 0, gid),
        "/var/lib/meldpunt": (0o700, uid, gid),
        "/run/meldpunt": (0o750, uid, tor_gid),  # from the tmpfiles entry, as systemd makes it at boot
        "/run/meldpunt-https": (0o750, uid, box.gid("www-data")),
        "/usr/sbin/meldpunt-admin": (0o755, 0, 0),
        "/opt/meldpunt/libexec/meldpunt-check": (0o755, 0, 0),
        TOR_DROPIN: (0o644, 0, 0),
    }
    for path, (m, u, g) in expect.items():
        assert (mode(box.path(path)), *owner(box.path(path))) == (m, u, g), path
    conf = box.path("/etc/meldpunt/meldpunt.toml").read_text()
    assert 'bind = "unix:/run/meldpunt/web.sock"' in conf
    conffiles = set(box.path("/var/lib/dpkg/info/meldpunt.conffiles").read_text().split())
    assert conffiles == CONFFILES
    # tor's own configuration untouched; tor reads meldpunt's settings through the package's file.
    assert box.path("/etc/tor/torrc").read_bytes() == torrc
    glue = box.path("/etc/tor/torrc-meldpunt").read_text()
    assert re.findall(r"^%include (\S+)$", glue, re.M) == ["/etc/tor/torrc", TOR_DROPIN]
    assert (
        "-f /etc/tor/torrc-meldpunt "
        in box.path("/lib/systemd/system/tor@default.service.d/meldpunt-torrc.conf").read_text()
    )
    assert "LimitCORE=0" in box.path("/lib/systemd/system/tor@default.service.d/meldpunt.conf").read_text()
    assert "/{,var/}run/meldpunt/web.sock rw," in box.path("/etc/apparmor.d/local/system_tor").read_text()
    assert box.path("/etc/systemd/system/multi-user.target.wants/meldpunt.service").is_symlink()
    # The HTTPS site, not enabled, finds its refusal page where the package put it.
    site = box.path(NGINX_SITE).read_text()
    (busy_dir,) = re.findall(r"^\s*root (/usr/share/meldpunt/nginx);", site, re.M)
    assert box.path(busy_dir + "/meldpunt-busy.html").is_file()
    assert not box.path("/etc/nginx/sites-enabled").exists()
    # The real tor accepts what it would read (the includes pointed into the root).
    tor_dir = tmp_path / "tor"
    tor_dir.mkdir(mode=0o700)
    (tmp_path / "torrc").write_text(glue.replace("%include /etc/tor/", f"%include {box.root}/etc/tor/"))
    verify = subprocess.run(
        [
            "tor",
            "--verify-config",
            "--defaults-torrc",
            "/usr/share/tor/tor-service-defaults-torrc",
            "-f",
            str(tmp_path / "torrc"),
            "--DataDirectory",
            str(tor_dir),
            "--User",
            "root",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout
    # The environment runs (its interpreter is the system's python3.11) with the pinned server
    # packages, and its check refuses the example's placeholders, naming the key.
    python = str(box.path("/opt/meldpunt/bin/python"))
    code = (
        "import onion_service.process.server, flask, stem, sqlalchemy, gunicorn, crypto; "
        "from onion_service import languages; print(len(languages.installed()))"
    )
    imports = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True)
    assert imports.returncode == 0, imports.stderr
    assert int(imports.stdout) > 20, "the compiled catalogues are in the package"
    # The packaged code serves the form (templates, catalogues, static files from the package).
    (tmp_path / "data").mkdir(mode=0o700)
    served = subprocess.run(
        [
            python,
            "-I",
            "-c",
            SERVE_ONE_PAGE,
            str(write_config(tmp_path / "meldpunt.toml", tmp_path / "data", staff.recipient)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.stdout.split() == ["200", "True"], served.stderr
    check = subprocess.run(
        [
            python,
            "-I",
            str(box.path("/opt/meldpunt/libexec/meldpunt-check")),
            str(box.path("/etc/meldpunt/meldpunt.toml")),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode != 0 and "recipients[0]" in check.stderr, check.stderr
    assert host_state() == before, "the maintainer scripts changed this machine"

    # --- the sysadmin's edits, and reports on disk -------------------------------------------------
    edited_tor = box.path(TOR_DROPIN).read_text().replace("HiddenServicePoWQueueRate 25", "HiddenServicePoWQueueRate 9")
    assert "HiddenServicePoWQueueRate 9" in edited_tor  # the edit took (the shipped figure is 25)
    box.path(TOR_DROPIN).write_text(edited_tor)
    edited_site = box.path(NGINX_SITE).read_text().replace("@SERVER_NAMES@", "report.example.org")
    box.path(NGINX_SITE).write_text(edited_site)
    edited_conf = conf + "\n# edited here\n"
    box.path("/etc/meldpunt/meldpunt.toml").write_text(edited_conf)
    reports = box.path("/var/lib/meldpunt/reports.sqlite3")
    reports.write_bytes(b"sealed reports")

    # --- upgrade to a newer build, which changes the tor drop-in too ------------------------------
    newer, version = newer_build(
        built,
        tmp_path,
        conffile=TOR_DROPIN,
        change=("HiddenServicePoWQueueBurst 250", "HiddenServicePoWQueueBurst 300"),
    )
    box.dpkg("--force-confold", "-i", str(newer))
    assert box.status() == f"install ok installed {version}"
    assert box.path(TOR_DROPIN).read_text() == edited_tor, "a conffile changed here is kept"
    assert "HiddenServicePoWQueueBurst 300" in box.path(TOR_DROPIN + ".dpkg-dist").read_text()
    assert box.path(NGINX_SITE).read_text() == edited_site
    assert not box.path(NGINX_SITE + ".dpkg-dist").exists(), "an unchanged conffile raises no question"
    assert box.path("/etc/meldpunt/meldpunt.toml").read_text() == edited_conf
    assert reports.read_bytes() == b"sealed reports"
    assert box.path("/opt/meldpunt/share/doc/meldpunt/SECURITY.md").read_text().endswith("<!-- next build -->\n")
    assert box.path("/etc/passwd").read_text().count("\nmeldpunt:") == 1
    assert mode(box.path("/var/lib/meldpunt")) == 0o700

    # --- remove: code and units go; configuration, conffiles and reports stay ---------------------
    out = box.dpkg("-r", "meldpunt")
    assert box.status() == f"deinstall ok config-files {version}"
    for gone in (
        "/opt/meldpunt",
        "/usr/sbin/meldpunt-admin",
        "/lib/systemd/system/meldpunt.service",
        "/lib/systemd/system/tor@default.service.d/meldpunt-torrc.conf",
        "/usr/share/meldpunt",
    ):
        assert not box.path(gone).exists(), gone
    assert box.path(TOR_DROPIN).read_text() == edited_tor
    assert box.path("/etc/meldpunt/meldpunt.toml").read_text() == edited_conf
    assert reports.read_bytes() == b"sealed reports"
    assert "meldpunt" not in box.path("/etc/apparmor.d/local/system_tor").read_text()
    assert box.path("/etc/tor/torrc").read_bytes() == torrc

    # --- purge: the configuration goes, the reports database and the user stay, and it says so ---
    out = box.dpkg("-P", "meldpunt")
    assert box.status() == ""
    for gone in (
        "/etc/meldpunt",
        TOR_DROPIN,
        TOR_DROPIN + ".dpkg-dist",
        NGINX_SITE,
        "/etc/tor/torrc-meldpunt",
        "/etc/systemd/system/multi-user.target.wants/meldpunt.service",
    ):
        assert not box.path(gone).exists(), gone
    assert reports.read_bytes() == b"sealed reports"
    assert "kept /var/lib/meldpunt" in out.stdout
    assert box.ids("meldpunt") == (uid, gid)
    assert box.path("/etc/tor/torrc").read_bytes() == torrc
    assert host_state() == before, "the maintainer scripts changed this machine"


TOR_UNIT = Path("/lib/systemd/system/tor@default.service")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or not TOR_UNIT.exists(), reason="needs systemd-analyze and Debian's tor"
)
def test_systemd_takes_the_tor_dropins_with_one_start_command(tmp_path: Path):
    """Debian's tor@default.service with the package's two drop-ins, as systemd loads them: the
    reset lines leave one ExecStart=, with the package's torrc."""
    root = tmp_path / "root"
    units = root / "usr/lib/systemd/system"
    shutil.copytree("/lib/systemd/system", units, symlinks=True)
    dropins = units / "tor@default.service.d"
    dropins.mkdir(exist_ok=True)
    shutil.copy(ROOT / "deploy/systemd/tor@default.service.d/meldpunt.conf", dropins)
    shutil.copy(ROOT / "deploy/package/tor@default.service.d/meldpunt-torrc.conf", dropins)
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "tor@default.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "more than one ExecStart" not in result.stderr
    assert not re.search(r"tor@default\.service.*(bad|invalid|Unknown)", result.stderr, re.I), result.stderr


@pytest.mark.slow
@needs_tools
@needs_root
def test_an_install_made_by_install_sh_is_refused_until_uninstalled(built: Built, tmp_path: Path):
    box = DebRoot(tmp_path)
    mark = box.path("/opt/meldpunt/.meldpunt-source")  # what install.sh leaves in its environment
    mark.parent.mkdir(parents=True)
    mark.write_text("stamp\n")
    result = subprocess.run(
        ["dpkg", f"--root={box.root}", "--force-script-chrootless", "--force-depends", "-i", str(built.deb)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "deploy/uninstall.sh" in result.stderr
    assert "installed" not in box.status().replace("not-installed", "")
    assert not box.path("/opt/meldpunt/bin").exists() and not box.path("/etc/meldpunt").exists()


@pytest.mark.slow
@needs_tools
def test_lintian_finds_no_error(built: Built):
    result = subprocess.run(
        ["lintian", "--fail-on", "error", str(built.deb)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r"^E: ", result.stdout, re.M), result.stdout


@pytest.mark.slow
@needs_tools
def test_offline_wheelhouse_installs_the_staff_command_line_alone(built: Built, tmp_path: Path):
    with tarfile.open(built.wheelhouse) as tar:
        tar.extractall(tmp_path, filter="data")
    (house,) = tmp_path.glob("meldpunt-offline-wheelhouse-*")
    wheels = sorted(p.name.split("-")[0] for p in house.glob("*.whl"))
    assert wheels == ["cffi", "click", "cryptography", "meldpunt", "pycparser"]
    lock = (house / "requirements.txt").read_text()
    blocks = re.split(r"\n(?=[a-z])", lock.split("\n", 2)[2])  # after the two comment lines
    assert sorted(b.split("==")[0] for b in blocks) == wheels
    assert all("--hash=sha256:" in b for b in blocks)
    subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=house, check=True)

    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [
            str(venv / "bin/pip"),
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(house),
            "--require-hashes",
            "-r",
            str(house / "requirements.txt"),
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    help_ = subprocess.run(
        [str(venv / "bin/meldpunt"), "open", "--help"], capture_output=True, text=True, env=clean_env()
    )
    assert help_.returncode == 0 and "Usage:" in help_.stdout, help_.stderr
    listed = subprocess.run(
        [str(venv / "bin/pip"), "list", "--format=freeze"], capture_output=True, text=True, env=clean_env()
    ).stdout.lower()
    for server_only in ("flask", "stem", "sqlalchemy", "gunicorn", "psycopg"):
        assert f"\n{server_only}==" not in "\n" + listed, server_only
