"""End-to-end: tensors of every size, both ways, through the template as TVM 0.18 drives it
(tvm.micro.generate_project_from_mlf, build, flash, tvm.micro.Session), with TVM's real
standalone CRT on the board, byte-exact.

Run with tests/tvm/with_tvm.sh (CTest does: label "tvm"). To stay quick in CI it sweeps
1 B to 16 KiB plus odd sizes on riscv32-virt and mps2-an385, with a 256 KiB + 1 read-back
filled on the board, four sizes across the packet boundary on the other four boards, and two
slow-reader sessions (a reader that sleeps before every read_transport; one that asks for
3 bytes at a time). Then the same on the fast link (link=fast, issue 11, which TVM passes to
every call) of riscv32-virt (virtio-serial) and mps2-an385 (the LAN9118): every size up to
256 KiB + 1 uploaded and read back, and both slow readers; on the other mps2 boards the
packet boundary and 256 KiB. The sweep to 1 MiB and the largest tensor each board's RAM holds is
bench/bench_tvm_transfer.py.
Exits 77 (skip) when TVM cannot be imported.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtq_tvm  # noqa: E402

mtq_tvm.import_tvm()
import tvm_transfer  # noqa: E402

# Uploads are the slow direction (QEMU hands the UART one byte per main-loop wake-up), so the
# sweep stops at 16 KiB, and a larger read-back is filled on the board instead of uploaded.
FULL_BOARDS = {"riscv32-virt": tvm_transfer.sizes_up_to(16384),
               "mps2-an385": tvm_transfer.sizes_up_to(16384)}
BIG_READ_BACK = 256 * 1024 + 1
FEW_SIZES = [1, 2033, 2034, 4097]
SLOW = [((0.02, 1 << 20), 8192), ((0.0, 3), 4097)]  # ((delay_sec, max_n), tensor bytes)
# The fast link moves uploads hundreds of times faster than the UART: they go up whole.
# Every fast link: virtio-serial on riscv32-virt, the LAN9118 (through the frame relay) on the
# mps2 boards, fully on mps2-an385 and across the packet boundary plus 256 KiB on the others.
FAST_BOARDS = {"riscv32-virt": tvm_transfer.sizes_up_to(256 * 1024) + [BIG_READ_BACK],
               "mps2-an385": tvm_transfer.sizes_up_to(256 * 1024) + [BIG_READ_BACK],
               "mps2-an386": FEW_SIZES + [256 * 1024],
               "mps2-an500": FEW_SIZES + [256 * 1024],
               "mps2-an505": FEW_SIZES + [256 * 1024]}

failures = []


def check(board, what, fn):
    try:
        fn()
        print("ok   %s: %s" % (board, what), flush=True)
    except Exception as e:  # one failure must not hide the others
        failures.append("%s: %s: %s" % (board, what, e))
        print("FAIL %s: %s: %s" % (board, what, e), flush=True)


def sweep(project, sizes):
    with tvm_transfer.session(project) as sess:
        for n in sizes:
            up, down = tvm_transfer.round_trip(sess, n)
            if n >= 4096:
                print("     %7d B: up %.3f s, down %.3f s" % (n, up, down), flush=True)


def big_read_back(project_dir, options):
    with tvm_transfer.session(tvm_transfer.reopen(project_dir, options)) as sess:
        down = tvm_transfer.fill_and_read_back(sess, BIG_READ_BACK)
        print("     %7d B: down %.3f s" % (BIG_READ_BACK, down), flush=True)


def slow_read(project_dir, options, slow, n):
    project = tvm_transfer.reopen(project_dir, options)
    with tvm_transfer.session(project, slow=slow) as sess:
        tvm_transfer.round_trip(sess, n, seed=2)


def fast_link(work, mlf):
    """FAST_BOARDS' sizes and the slow readers over each board's fast link."""
    fast_work = os.path.join(work, "fast")
    os.mkdir(fast_work)
    for board, sizes in FAST_BOARDS.items():
        what = board + " (link=fast)"
        options = {"project_type": "host_driven", "board": board, "link": "fast"}
        try:
            project = mtq_tvm.host_driven_project(fast_work, board, mlf, link="fast")
        except Exception as e:
            failures.append("%s: generate/build/flash: %s" % (what, e))
            print("FAIL %s: generate/build/flash: %s" % (what, e), flush=True)
            continue
        project_dir = os.path.join(fast_work, board)
        check(what, "%d sizes, %d B to %d B, up and back" % (len(sizes), sizes[0], sizes[-1]),
              lambda: sweep(project, sizes))
        for slow, n in SLOW:
            check(what, "%d B read back by a reader that sleeps %g s and asks for at most "
                  "%d B" % (n, slow[0], slow[1]),
                  lambda: slow_read(project_dir, options, slow, n))


def main():
    t_start = time.monotonic()
    with mtq_tvm.scratch("mtq-tvm-transfer-") as work:
        mlf = mtq_tvm.digits_mlf(work)
        for board in mtq_tvm.BOARDS:
            options = {"project_type": "host_driven", "board": board}
            try:
                t0 = time.monotonic()
                project = mtq_tvm.host_driven_project(work, board, mlf)
                print("     %s: generate, build, flash: %.1f s" % (board, time.monotonic() - t0))
            except Exception as e:
                failures.append("%s: generate/build/flash: %s" % (board, e))
                print("FAIL %s: generate/build/flash: %s" % (board, e), flush=True)
                continue
            project_dir = os.path.join(work, board)
            full = board in FULL_BOARDS
            sizes = FULL_BOARDS.get(board, FEW_SIZES)
            check(board, "%d sizes, %d B to %d B, up and back" % (len(sizes), sizes[0],
                                                                   sizes[-1]),
                  lambda: sweep(project, sizes))
            if full:
                check(board, "%d B filled on the board, read back" % BIG_READ_BACK,
                      lambda: big_read_back(project_dir, options))
                for slow, n in SLOW:
                    check(board, "%d B read back by a reader that sleeps %g s and asks for "
                          "at most %d B" % (n, slow[0], slow[1]),
                          lambda: slow_read(project_dir, options, slow, n))
        fast_link(work, mlf)
    print("%d failure(s), %.1f s" % (len(failures), time.monotonic() - t_start))
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
