"""Moving tensors between TVM's host and a board, as a TVM user does: tvm.nd.array(data,
device=sess.device) uploads (NDArray.copyfrom, TVM's CopyToRemote), .numpy() reads back
(CopyFromRemote). Shared by tests/tvm/test_tvm_transfer.py and bench/bench_tvm_transfer.py.

TVM's host cuts both directions into blocks that fit the device's RPC packet size; a
read-back reply arrives as one packet into a receive buffer of the host's own, so a device
packet size above that buffer broke every read-back above it (firmware/platform/crt_config.h).
"""

import time

import numpy as np
import tvm
import tvm.micro
from tvm.micro.transport import Transport

# The sizes to prove: every power of two from 1 B to 1 MiB, sizes either side of
# powers of two, and the edge of TVM 0.18's host receive buffer (2048 bytes hold a read-back
# of 2033 data bytes and its 15 bytes of headers; 2034 was the first size that failed).
POWERS = [1 << k for k in range(21)]
ODD = [1023, 1025, 2033, 2034, 4097, 65537]


def sizes_up_to(limit):
    return sorted(set(n for n in POWERS + ODD if n <= limit))


class SlowReader(Transport):
    """A transport whose reader is slow: it sleeps before every read and asks for at most
    max_n bytes, so the board's output backs up in QEMU's UART, the pty and the server while
    nobody reads, and arrives in tiny pieces when someone does."""

    def __init__(self, inner, delay_sec, max_n):
        self._inner = inner
        self._delay = delay_sec
        self._max_n = max_n
        self.reads = 0

    def timeouts(self):
        return self._inner.timeouts()

    def open(self):
        self._inner.open()

    def close(self):
        self._inner.close()

    def read(self, n, timeout_sec):
        self.reads += 1
        if self._delay:
            time.sleep(self._delay)
        return self._inner.read(min(n, self._max_n), timeout_sec)

    def write(self, data, timeout_sec):
        return self._inner.write(data, timeout_sec)


def pattern(n, seed):
    """n bytes that differ from one size and seed to the next, with every byte value (0xFF,
    the framing's escape byte, included) present once n >= 256."""
    rng = np.random.default_rng(seed * 1000003 + n)
    return rng.integers(0, 256, size=n, dtype=np.uint8).view(np.int8)


def round_trip(sess, n, seed=1):
    """Uploads n bytes, reads them back; returns (upload_s, download_s) and raises
    AssertionError naming the first wrong byte when they differ."""
    data = pattern(n, seed)
    t0 = time.monotonic()
    a = tvm.nd.empty((n,), "int8", sess.device)
    a.copyfrom(data)
    t1 = time.monotonic()
    back = a.numpy()
    t2 = time.monotonic()
    if back.shape != data.shape or not np.array_equal(back, data):
        bad = np.flatnonzero(back != data) if back.shape == data.shape else [0]
        raise AssertionError("%d-byte tensor: read back differs, first at byte %d (%d, want %d)"
                             % (n, bad[0], back.flat[bad[0]], data.flat[bad[0]]))
    del a
    return t1 - t0, t2 - t1


def fill_and_read_back(sess, n, block=65536, seed=3):
    """Reads back an n-byte tensor without uploading n bytes first: one random block goes up,
    the board copies it into every block of the tensor (TVM's CopyAmongRemote, through views
    at byte offsets), and the whole tensor comes back and is compared with the block repeated.
    For tensors too large to upload over the UART in reasonable time. Returns download_s."""
    data = pattern(block, seed)
    src = tvm.nd.array(data, device=sess.device)
    big = tvm.nd.empty((n,), "int8", sess.device)
    for off in range(0, n, block):
        k = min(block, n - off)
        big._create_view((k,), relative_byte_offset=off).copyfrom(
            src if k == block else src._create_view((k,)))
    t0 = time.monotonic()
    back = big.numpy()
    t1 = time.monotonic()
    want = np.resize(data, n)
    if not np.array_equal(back, want):
        bad = np.flatnonzero(back != want)
        raise AssertionError("%d-byte tensor: read back differs at %d bytes, first at byte %d"
                             % (n, len(bad), bad[0]))
    del big, src
    return t1 - t0


def reopen(project_dir, options):
    """The generated project in project_dir, with a server of its own (a session's end shuts
    its project's server down, so each session needs a fresh one)."""
    return tvm.micro.project.GeneratedProject.from_directory(project_dir, options)


def session(project, slow=None):
    """A tvm.micro.Session on a flashed project; slow=(delay_sec, max_n) wraps its transport
    in a SlowReader."""
    transport = project.transport()
    if slow:
        transport = SlowReader(transport, *slow)
    return tvm.micro.Session(transport_context_manager=transport)
