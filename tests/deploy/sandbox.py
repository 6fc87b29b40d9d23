"""Runs a command inside the sandbox deploy/systemd/meldpunt.service describes, without systemd.

    python sandbox.py --unit UNIT --uid U --gid G [--rw DIR]... [--ro DIR]... -- COMMAND...

Run as root. The settings are read from the unit file, so the test follows the unit; each is
applied with the kernel interface systemd itself uses:

  PrivateNetwork=yes            a new, empty network namespace (only a loopback, left down)
  ProtectSystem=strict          every mount read-only except /proc, /sys, /dev and the --rw dirs
                                (which stand in for StateDirectory= and ReadWritePaths=)
  PrivateTmp=yes, ProtectHome=  fresh /tmp and /var/tmp; /home, /root and /run/user hidden
  InaccessiblePaths=            an empty, mode 000 tmpfs over each directory that exists
  PrivateDevices=yes            a /dev with only null, zero, full, random, urandom and a new shm
  ProtectProc=, ProcSubset=     /proc mounted again with hidepid=invisible,subset=pid
  User=, Group=, UMask=         --uid/--gid (the unit's user does not exist on a test machine)
  CapabilityBoundingSet=        every capability dropped from the bounding set
  NoNewPrivileges=yes           PR_SET_NO_NEW_PRIVS
  PrivateUsers=yes              a user namespace mapping only the service's own user and group
  MemoryDenyWriteExecute=yes    PR_SET_MDWE (refuse memory that is or becomes writable+executable)
  LimitCORE=                    RLIMIT_CORE
  SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=native,
  RestrictAddressFamilies=      a seccomp filter built with libseccomp from the groups
                                `systemd-analyze syscall-filter` lists, as systemd builds it

Not applied (they only forbid what meldpunt never does, or need systemd's cgroups): RestrictNamespaces,
RestrictRealtime, RestrictSUIDSGID, LockPersonality, ProtectKernel*, ProtectClock, ProtectHostname,
IPAddressDeny, MemorySwapMax, KeyringMode, RemoveIPC.

If a setting cannot be applied here, the launcher fails rather than run a weaker sandbox.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import os
import resource
import subprocess
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_CAPBSET_DROP, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_MDWE = 24, 4, 38, 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE, SCMP_CMP_EQ = 1, 4
AF_UNIX = 1


def scmp_act_errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


class SandboxError(Exception):
    pass


def check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731  (four uses on the next line)
    check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def read_unit(path: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def last(settings: dict[str, list[str]], key: str, default: str = "") -> str:
    return settings.get(key, [default])[-1]


# --- system calls --------------------------------------------------------------------------------


def syscall_groups() -> dict[str, list[str]]:
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    result: set[str] = set()
    for name in names:
        if name.startswith("@"):
            result |= expand(groups[name], groups)
        else:
            result.add(name)
    return result


def allowed_syscalls(settings: dict[str, list[str]]) -> set[str]:
    """systemd's semantics: the first SystemCallFilter= line decides allow-list mode; later lines
    starting with ~ remove from it, the others add to it."""
    groups = syscall_groups()
    lines = settings.get("SystemCallFilter", [])
    if not lines or lines[0].startswith("~"):
        raise SandboxError("the unit must use an allow-list SystemCallFilter=")
    allowed: set[str] = set()
    for line in lines:
        if line.startswith("~"):
            allowed -= expand(line[1:].split(), groups)
        else:
            allowed |= expand(line.split(), groups)
    return allowed


def load_seccomp(settings: dict[str, list[str]], allowed: set[str]) -> None:
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_void_p,
    ]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]

    class ArgCmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]

    denied = getattr(errno, last(settings, "SystemCallErrorNumber", "EPERM"))
    ctx = lib.seccomp_init(scmp_act_errno(denied))
    if not ctx:
        raise SandboxError("seccomp_init failed")
    families = last(settings, "RestrictAddressFamilies").split()
    for name in sorted(allowed):
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            continue  # a name this libseccomp does not know on this architecture
        if name == "socket" and families:
            if families != ["AF_UNIX"]:
                raise SandboxError("this launcher knows only RestrictAddressFamilies=AF_UNIX")
            # systemd answers other families with EAFNOSUPPORT.
            eq = ArgCmp(0, SCMP_CMP_EQ, AF_UNIX, 0)
            ne = ArgCmp(0, SCMP_CMP_NE, AF_UNIX, 0)
            check(lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, number, 1, ctypes.byref(eq)), "seccomp socket")
            check(
                lib.seccomp_rule_add_array(ctx, scmp_act_errno(errno.EAFNOSUPPORT), number, 1, ctypes.byref(ne)),
                "seccomp socket",
            )
            continue
        rc = lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, number, 0, None)
        if rc != 0:
            raise SandboxError(f"seccomp rule for {name}: {os.strerror(-rc)}")
    rc = lib.seccomp_load(ctx)
    if rc != 0:
        raise SandboxError(f"seccomp_load: {os.strerror(-rc)}")


# --- file system ---------------------------------------------------------------------------------


def mount_points() -> list[tuple[str, str]]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            target = fields[4].encode().decode("unicode_escape")
            options = fields[5]
            out.append((target, options))
    return out


def keep_flags(options: str) -> int:
    flags = 0
    for name, bit in (
        ("nosuid", MS_NOSUID),
        ("nodev", MS_NODEV),
        ("noexec", MS_NOEXEC),
        ("noatime", MS_NOATIME),
        ("nodiratime", MS_NODIRATIME),
        ("relatime", MS_RELATIME),
    ):
        if name in options.split(","):
            flags |= bit
    return flags


def api_tree(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ("/proc", "/sys", "/dev"))


def protect_system(rw: list[str], ro: list[str], settings: dict[str, list[str]]) -> None:
    # Handles to the directories that must stay reachable, taken before anything covers them.
    handles = [(d, os.open(d, os.O_PATH | os.O_DIRECTORY), False) for d in rw]
    handles += [(d, os.open(d, os.O_PATH | os.O_DIRECTORY), True) for d in ro]
    devices = {name: os.open(f"/dev/{name}", os.O_PATH) for name in ("null", "zero", "full", "random", "urandom")}

    if last(settings, "ProtectSystem") != "strict":
        raise SandboxError("this launcher emulates ProtectSystem=strict only")
    for target, options in sorted(mount_points()):
        if api_tree(target) or not os.path.isdir(target):
            continue
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep_flags(options))

    if last(settings, "PrivateTmp") == "yes":
        for d in ("/tmp", "/var/tmp"):
            mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    homes = []
    if last(settings, "ProtectHome") == "yes":
        for d in ("/home", "/root", "/run/user"):
            if os.path.isdir(d):
                # Empty and inaccessible, as systemd makes them; only a --ro path inside one (the
                # test machine's Python may live in /root) is put back, read-only, below.
                inside = any(p.startswith(d + "/") for p in ro)
                mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755" if inside else "mode=000")
                homes.append(d)
    for entry in " ".join(settings.get("InaccessiblePaths", [])).split():
        path = entry.lstrip("-")
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=000")
        elif os.path.exists(path):
            raise SandboxError(f"InaccessiblePaths={path}: this launcher hides directories only")
        elif not entry.startswith("-"):
            raise SandboxError(f"InaccessiblePaths={path} does not exist")
    if last(settings, "PrivateDevices") == "yes":
        mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755")
        for name, fd in devices.items():
            open(f"/dev/{name}", "w").close()
            mount(f"/proc/self/fd/{fd}", f"/dev/{name}", None, MS_BIND)
        os.mkdir("/dev/shm")
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    if last(settings, "ProtectProc") == "invisible" and last(settings, "ProcSubset") == "pid":
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible,subset=pid")

    for path, fd, read_only in handles:
        os.makedirs(path, mode=0o755, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
        mount(None, path, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | (MS_RDONLY if read_only else 0))
        os.close(fd)
    for d in homes:
        mount(None, d, None, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_RDONLY)
    for fd in devices.values():
        os.close(fd)


# --- identity and privileges ---------------------------------------------------------------------


def drop_privileges(uid: int, gid: int, settings: dict[str, list[str]], last_cap: int) -> None:
    if last(settings, "CapabilityBoundingSet", None) != "":
        raise SandboxError("the unit must empty CapabilityBoundingSet=")
    for cap in range(last_cap + 1):
        check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # clears the permitted and effective capabilities
    if last(settings, "PrivateUsers") == "yes":
        check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")  # to write our own id maps
        check(libc.unshare(CLONE_NEWUSER), "unshare user namespace")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1\n")
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1\n")
        # A new user namespace starts with a full bounding set (and, until exec, full capabilities
        # inside it): empty the set again, as systemd does after setting the namespace up.
        for cap in range(last_cap + 1):
            check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    if last(settings, "NoNewPrivileges") != "yes":
        raise SandboxError("the unit must set NoNewPrivileges=yes")
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if last(settings, "MemoryDenyWriteExecute") == "yes":
        check(libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0), "MemoryDenyWriteExecute (PR_SET_MDWE)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--unit", required=True)
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--gid", type=int, required=True)
    parser.add_argument("--rw", action="append", default=[])
    parser.add_argument("--ro", action="append", default=[])
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    settings = read_unit(args.unit)

    allowed = allowed_syscalls(settings)  # systemd-analyze runs before the sandbox closes
    with open("/proc/sys/kernel/cap_last_cap") as f:  # hidden once /proc is remounted
        last_cap = int(f.read())
    flags = CLONE_NEWNS | (CLONE_NEWNET if last(settings, "PrivateNetwork") == "yes" else 0)
    check(libc.unshare(flags), "unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    protect_system(args.rw, args.ro, settings)

    os.umask(int(last(settings, "UMask", "0022"), 8))
    core = last(settings, "LimitCORE")
    if core:
        resource.setrlimit(resource.RLIMIT_CORE, (int(core), int(core)))
    drop_privileges(args.uid, args.gid, settings, last_cap)
    if last(settings, "SystemCallArchitectures") != "native":
        raise SandboxError("the unit must set SystemCallArchitectures=native")
    load_seccomp(settings, allowed)
    os.execvp(args.command[0], args.command)


if __name__ == "__main__":
    try:
        main()
    except (SandboxError, OSError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        sys.exit(125)
