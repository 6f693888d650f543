"""Run Terraform so that it gets exactly one interrupt when Clouder dies (run as a script, stdlib only).

``python -I -S guard.py CLOUDER_PID PID_FD terraform ARGS...``

Why a process in between: the kernel's parent-death signal (``PR_SET_PDEATHSIG``) fires each time the
child's parent *thread* dies, and a dying multi-threaded Clouder hands Terraform from thread to thread,
so Terraform saw two SIGINTs ("Two interrupts received. Exiting immediately") and lost state. This
guard is single-threaded: it hears of Clouder's death (perhaps several times) and passes Terraform one
SIGINT; if the guard itself is killed, Terraform's own parent-death signal fires once. Interrupts that
Clouder forwards on purpose (Ctrl-C, SIGTERM) pass through one for one. Terraform's PID goes to
``PID_FD``; its exit status becomes the guard's, signals included.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
CLOUDER_GONE = signal.SIGUSR1


def _parent_death_signal(signum: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def main() -> None:
    clouder, pid_fd, command = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    terraform: subprocess.Popen[bytes] | None = None
    told = False
    early = 0  # interrupts that came before Terraform started

    def clouder_gone(signum: int, frame: object) -> None:
        nonlocal told, early
        if not told:
            told = True
            interrupt()

    def interrupt(signum: int = signal.SIGINT, frame: object = None) -> None:
        nonlocal early
        if terraform is None:
            early += 1
        elif terraform.poll() is None:
            terraform.send_signal(signal.SIGINT)

    signal.signal(CLOUDER_GONE, clouder_gone)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    _parent_death_signal(CLOUDER_GONE)
    if os.getppid() != clouder:  # Clouder died before the parent-death signal was armed
        clouder_gone(CLOUDER_GONE, None)
    terraform = subprocess.Popen(command, preexec_fn=lambda: _parent_death_signal(signal.SIGINT))
    os.write(pid_fd, f"{terraform.pid}\n".encode())
    os.close(pid_fd)
    for _ in range(early):
        terraform.send_signal(signal.SIGINT)
    code = terraform.wait()
    if code < 0:
        for handled in (CLOUDER_GONE, signal.SIGINT, signal.SIGTERM):
            signal.signal(handled, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
