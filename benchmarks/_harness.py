"""What the playbook benchmarks share: an emulator in a scratch directory, ansible-playbook runs timed with the
API calls they made and the peak memory of their processes, and the table of figures.

Not a benchmark itself (no main)."""
import contextlib
import os
import re
import sys
import tempfile
import threading
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.e2e.conftest import run_playbook  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402


@contextlib.contextmanager
def scratch_emulator(**options):
    """``(work, emulator)``: a temporary directory and an emulator keeping its data in it, both gone afterwards."""
    with tempfile.TemporaryDirectory() as work, \
            EmulatorProcess(data_dir=os.path.join(work, "emulator"), **options) as emulator:
        yield work, emulator


def api_post(emulator, path, body):
    """POST ``body`` to ``/accounts/<account>`` + ``path`` of the emulator's API, failing on an error status."""
    httpx.post(emulator.base_url + "/accounts/%s%s" % (emulator.account_id, path), json=body,
               headers={"Authorization": "Bearer " + emulator.token}).raise_for_status()


class PeakMemory:
    """Peak resident memory (VmHWM) of processes, sampled from /proc every 20 ms while the block runs.

    ``kinds`` names each kind of process by the byte strings its command line contains (all of them); a
    process counts for the first kind it matches."""

    def __init__(self, **kinds):
        self.kinds = kinds
        self.peaks = {kind: {} for kind in kinds}  # kind -> {pid: KiB}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(0.02):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as handle:
                        cmdline = handle.read()
                    kind = next((kind for kind, markers in self.kinds.items()
                                 if all(marker in cmdline for marker in markers)), None)
                    if kind is None:
                        continue
                    with open("/proc/%s/status" % pid) as handle:
                        for line in handle:
                            if line.startswith("VmHWM:"):
                                peaks = self.peaks[kind]
                                peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]))
                except OSError:
                    continue

    def peak_mib(self, kind):
        """The largest peak of one process of ``kind``, in MiB (0 when none ran)."""
        return max(self.peaks[kind].values(), default=0) / 1024.0

    def processes(self, kind):
        return len(self.peaks[kind])


class TimedRun:
    def __init__(self, output, seconds, calls, memory):
        self.output = output
        self.seconds = seconds
        self.reads = calls["reads"]
        self.writes = calls["writes"]
        self.memory = memory


def timed_playbook(emulator, label, playbook, *args, memory, **options):
    """Run ``playbook`` (``args`` and ``options`` as ``run_playbook`` takes them) with the emulator's call counts
    reset first and ``PeakMemory(**memory)`` sampling; exits naming ``label`` when the run fails."""
    emulator.reset_calls()
    with PeakMemory(**memory) as peaks:
        started = time.monotonic()
        result = run_playbook(emulator, *args, playbook=playbook, timeout=3600, **options)
        elapsed = time.monotonic() - started
    if result.rc != 0:
        raise SystemExit("%s failed:\n%s" % (label, result.output[-3000:]))
    return TimedRun(result.output, elapsed, emulator.calls(), peaks)


def print_table(columns, rows):
    """``columns``: ``(header, format)`` pairs such as ``("wall s", "%8.1f")``; each header takes its format's width."""
    formats = [column[1] for column in columns]
    print(" ".join(re.sub(r"%(-?\d*)(?:\.\d+)?[a-z]", r"%\1s", fmt) % header for header, fmt in columns))
    for row in rows:
        print(" ".join(fmt % value for fmt, value in zip(formats, row)))
