"""Landlock: the kernel confines a process's file and network access (Linux 5.13+).

Standard library only (ctypes over the raw system calls): the sandbox's launcher loads this
file by path and calls `restrict()` just before it becomes the program; the orchestrator
imports it to ask `abi_version()`. Once restricted, the program and its children:

- read (and run) only beneath the read-only paths, read and write only beneath the
  writable ones; every other path fails with EACCES (another user's home, the
  orchestrator's store and `.env`, `/proc` with the environment of other processes);
- cannot bind or connect a TCP socket (ABI 4+, Linux 6.7);
- cannot connect to an abstract UNIX socket or send a signal outside its domain (ABI 6+);
- cannot ptrace a process outside its domain (every ABI).

The backend needs ABI 4 (`MIN_ABI`); below it the sandbox does not offer Landlock at all,
because the network would stay open.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Callable, Iterable

__all__ = ["MIN_ABI", "abi_version", "restrict"]

MIN_ABI = 4
# System call numbers: the same on every architecture (asm-generic and x86 tables agree).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# LANDLOCK_ACCESS_FS_* bits, and the ABI that introduced the last ones.
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_ABI1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
# Rights that apply to a regular file (a rule on a file may grant only these).
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_READ_ONLY = _EXECUTE | _READ_FILE | _READ_DIR


_Syscall = Callable[..., int]


def _syscall() -> _Syscall:
    libc = ctypes.CDLL(None, use_errno=True)
    call = libc.syscall
    call.restype = ctypes.c_long
    result: _Syscall = call
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    syscall = _syscall()
    version = syscall(ctypes.c_long(_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def _handled_fs(abi: int) -> int:
    rights = _FS_ABI1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def _check(result: int, what: str) -> int:
    if result < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"landlock {what}: {errno.errorcode.get(e, e)}")
    return result


def restrict(read_only: Iterable[str], writable: Iterable[str]) -> int:
    """Confine this process (and what it execs) for good; returns the ABI used.

    A path that does not exist is skipped. Raises OSError when the kernel lacks Landlock
    ABI `MIN_ABI` or refuses a rule.
    """
    abi = abi_version()
    if abi < MIN_ABI:
        raise OSError(errno.ENOSYS, f"landlock ABI {abi} < {MIN_ABI}: no network rules")
    syscall = _syscall()
    fs = _handled_fs(abi)
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    # struct landlock_ruleset_attr { u64 handled_access_fs, handled_access_net, scoped; }
    attr = struct.pack("=QQQ", fs, _NET_BIND_TCP | _NET_CONNECT_TCP, scoped)
    size = 24 if abi >= 6 else 16
    attr_buf = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _check(
        syscall(
            ctypes.c_long(_CREATE_RULESET), attr_buf, ctypes.c_size_t(size), ctypes.c_uint32(0)
        ),
        "create_ruleset",
    )
    try:
        for paths, rights in ((read_only, _READ_ONLY), (writable, fs)):
            for path in paths:
                _allow(syscall, ruleset, path, rights)
        libc = ctypes.CDLL(None, use_errno=True)
        args = (ctypes.c_ulong(_PR_SET_NO_NEW_PRIVS), *(ctypes.c_ulong(a) for a in (1, 0, 0, 0)))
        _check(libc.prctl(*args), "no_new_privs")
        _check(syscall(ctypes.c_long(_RESTRICT_SELF), ruleset, ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _allow(syscall: _Syscall, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        # struct landlock_path_beneath_attr { u64 allowed_access; s32 parent_fd; } (packed)
        rule = struct.pack("=Qi", rights, fd)
        buf = ctypes.create_string_buffer(rule, len(rule))
        _check(
            syscall(ctypes.c_long(_ADD_RULE), ruleset, ctypes.c_int(_RULE_PATH_BENEATH), buf, 0),
            f"add_rule {path}",
        )
    finally:
        os.close(fd)
