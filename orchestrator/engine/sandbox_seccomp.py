"""A seccomp filter for generated code: system calls it has no business making fail.

Standard library only (ctypes over libc): the sandbox's launcher loads this file by path
and calls `install()` just before it becomes the program, under either isolation backend.
The filter, for the rest of the program's life and its children's:

- sockets of any family but AF_UNIX fail (EACCES): no TCP or UDP, IPv4 or IPv6, no raw or
  netlink sockets; `socketpair` (asyncio's self-pipe) still works;
- leaving the process group fails (`setsid`, `setpgid`: EPERM), so the sandbox's group
  kill and process-count watchdog keep seeing everything the program starts;
- debugging and reading other processes fails (`ptrace`, `process_vm_readv/writev`);
- kernel surfaces no test needs fail: namespaces and mounts, keyrings, BPF, perf events,
  userfaultfd, io_uring, kexec, `personality`;
- any other architecture's calls (i386 `int 0x80`, x32) end the process.

x86-64 only: the system call numbers are that architecture's. Elsewhere `supported()` is
False and the sandbox says so rather than install a filter with the wrong numbers.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

__all__ = ["install", "supported"]

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_AF_UNIX = 1
# x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
_SOCKET = 41
_DENIED = {
    "ptrace": 101,
    "setpgid": 109,
    "setsid": 112,
    "personality": 135,
    "pivot_root": 155,
    "chroot": 161,
    "mount": 165,
    "umount2": 166,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsmount": 432,
}

_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
# Offsets in struct seccomp_data: nr, arch, instruction pointer, args[6] (little-endian).
_NR, _ARCH, _ARG0 = 0, 4, 16
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def supported() -> bool:
    return platform.machine() in ("x86_64", "AMD64")


def _program() -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions; a jump skips jt/jf instructions."""
    denied = sorted(_DENIED.values())
    n = len(denied)
    kill_at, deny_at, socket_at = 7 + n, 8 + n, 9 + n

    def to(target: int, here: int) -> int:
        return target - here - 1

    prog = [
        (_LD_W_ABS, 0, 0, _ARCH),  # 0
        (_JEQ, 1, 0, _AUDIT_ARCH_X86_64),  # 1
        (_RET, 0, 0, _KILL_PROCESS),  # 2: another architecture's calls
        (_LD_W_ABS, 0, 0, _NR),  # 3
        (_JGE, to(kill_at, 4), 0, _X32_SYSCALL_BIT),  # 4: x32 calls
    ]
    prog += [(_JEQ, to(deny_at, 5 + i), 0, nr) for i, nr in enumerate(denied)]
    prog += [
        (_JEQ, to(socket_at, 5 + n), 0, _SOCKET),  # 5 + n
        (_RET, 0, 0, _ALLOW),  # 6 + n
        (_RET, 0, 0, _KILL_PROCESS),  # 7 + n: kill_at
        (_RET, 0, 0, _ERRNO | errno.EPERM),  # 8 + n: deny_at
        (_LD_W_ABS, 0, 0, _ARG0),  # 9 + n: socket_at, the socket's domain
        (_JEQ, 0, 1, _AF_UNIX),
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _ERRNO | errno.EACCES),
    ]
    return prog


def install() -> None:
    """Install the filter on this process (inherited by its children and kept across exec).

    Sets no_new_privs first, which an unprivileged process needs and which also stops a
    set-user-id program from gaining rights. Raises OSError when the kernel refuses.
    """
    if not supported():
        raise OSError(errno.ENOSYS, f"no seccomp filter for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    prog = _program()
    code = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    filters = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    fprog = struct.pack("=H6xQ", len(prog), ctypes.addressof(filters))
    fprog_buf = ctypes.create_string_buffer(fprog, len(fprog))
    for args in (
        (_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
        (_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buf), 0, 0),
    ):
        if libc.prctl(*(ctypes.c_ulong(a) for a in args)) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"prctl({args[0]}): {errno.errorcode.get(e, e)}")
