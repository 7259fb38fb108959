"""Benchmark: tensors moved between TVM 0.18's host and each board through the template, as a
TVM user moves them (tvm.nd.array(...).copyfrom for uploads, .numpy() for read-backs), with
TVM's real CRT on the board. Every size is checked byte-exact before it is reported.

    tests/tvm/with_tvm.sh bench/bench_tvm_transfer.py [--boards B,B] [--max BYTES]
                                                      [--largest [--largest-up]]
    tests/tvm/with_tvm.sh bench/bench_tvm_transfer.py --links [--tensor BYTES] [--boards B,B]

Sizes: every power of two from 1 B to --max (default 1 MiB) and the odd sizes of
tests/tvm/tvm_transfer.py, each uploaded and read back. --largest sets the project's
workspace_size_bytes to the board's RAM less LARGEST_RESERVE and reads back the largest tensor
that then fits (the workspace less LARGEST_SLACK), filled on the board from one uploaded
64 KiB block (tvm_transfer.fill_and_read_back); --largest-up also uploads that tensor, which
over the UART takes many minutes. Boards run side by side (one process each: uploads wait on
QEMU's main loop more than on the CPU). Prints one JSON object on stdout:
  {"boards": {B: {"workspace_size_bytes", "sizes": [{"bytes", "up_s", "down_s", "up_Bps",
                  "down_Bps"}...], "largest_up": {"bytes", "s", "Bps"}, "largest_down": {...}}
              or {"error"}}}
largest_up and largest_down are the largest tensor moved that way.
--links (issue 11) instead moves one tensor of --tensor bytes (default 256 KiB) up and back,
LINK_REPEATS times, over each link of each board that has a fast link (default: those in
machines/), in two projects of the same board (link=uart and link=fast), one after the other:
  {"tensor_bytes", "links": {B: {"uart": {"up_s", "down_s", "up_Bps", "down_Bps"}, "fast": ...,
                                 "fast_vs_uart_up", "fast_vs_uart_down"} or {"error"}}}
(medians of the repeats).
Progress goes to stderr.
"""

import argparse
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "tvm"))
import mtq_tvm  # noqa: E402

LARGEST_RESERVE = 512 << 10  # RAM left for .data, .bss, the stack
# heap left for the CRT's own buffers (packet buffer, RPC server, registry) and the 64 KiB
# block fill_and_read_back uploads
LARGEST_SLACK = 192 << 10
WORKSPACE_MIN = 2 << 20      # the workspace of a sweep without --largest (1 MiB tensors fit)
LINK_REPEATS = 3             # --links: uploads and read-backs per link, the median reported


def ram_bytes(board):
    with open(os.path.join(mtq_tvm.SOURCE_DIR, "machines", board + ".json")) as f:
        return int(json.load(f)["memory"]["ram"]["size"], 16)


def has_fast_link(board):
    with open(os.path.join(mtq_tvm.SOURCE_DIR, "machines", board + ".json")) as f:
        return "fast_link" in json.load(f)


def one_link(board, link, n):
    """The median upload and read-back time of an n-byte tensor over link, on a fresh
    host_driven project generated with that link (TVM passes it to every call)."""
    import tvm_transfer

    ups, downs = [], []
    with mtq_tvm.scratch("mtq-bench-link-") as work:
        project = mtq_tvm.host_driven_project(work, board, mtq_tvm.digits_mlf(work),
                                              workspace_size_bytes=WORKSPACE_MIN, link=link)
        with tvm_transfer.session(project) as sess:
            for seed in range(LINK_REPEATS):
                up, down = tvm_transfer.round_trip(sess, n, seed=seed + 1)
                ups.append(up)
                downs.append(down)
                print("%s %s %d bytes: up %.3f s, down %.3f s" % (board, link, n, up, down),
                      file=sys.stderr, flush=True)
    up, down = sorted(ups)[len(ups) // 2], sorted(downs)[len(downs) // 2]
    return {"up_s": round(up, 4), "down_s": round(down, 4), "up_Bps": round(n / up),
            "down_Bps": round(n / down)}


def compare_links(boards, n):
    out = {"tensor_bytes": n, "links": {}}
    status = 0
    for board in boards:
        try:
            row = {link: one_link(board, link, n) for link in ("uart", "fast")}
            row["fast_vs_uart_up"] = round(row["uart"]["up_s"] / row["fast"]["up_s"], 1)
            row["fast_vs_uart_down"] = round(row["uart"]["down_s"] / row["fast"]["down_s"], 1)
        except Exception as e:  # a board's failure is its row's, the others still run
            row = {"error": str(e)}
            status = 1
        out["links"][board] = row
    print(json.dumps(out, indent=1))
    return status


def rate(n, seconds):
    return {"bytes": n, "s": round(seconds, 4), "Bps": round(n / seconds)}


def one_board(board, limit, largest, largest_up):
    import tvm_transfer

    sizes = tvm_transfer.sizes_up_to(limit)
    workspace = WORKSPACE_MIN
    if largest:
        workspace = ram_bytes(board) - LARGEST_RESERVE
    out = {"workspace_size_bytes": workspace, "sizes": []}
    with mtq_tvm.scratch("mtq-bench-transfer-") as work:
        project = mtq_tvm.host_driven_project(work, board, mtq_tvm.digits_mlf(work),
                                              workspace_size_bytes=workspace)
        with tvm_transfer.session(project) as sess:
            for n in sizes:
                up, down = tvm_transfer.round_trip(sess, n)
                row = {"bytes": n, "up_s": round(up, 4), "down_s": round(down, 4),
                       "up_Bps": round(n / up), "down_Bps": round(n / down)}
                out["sizes"].append(row)
                print("%s %d: %s" % (board, n, row), file=sys.stderr, flush=True)
            top = out["sizes"][-1]
            out["largest_up"] = rate(top["bytes"], top["up_s"])
            out["largest_down"] = rate(top["bytes"], top["down_s"])
            if largest:
                n = workspace - LARGEST_SLACK
                out["largest_down"] = rate(n, tvm_transfer.fill_and_read_back(sess, n))
                print("%s largest down: %s" % (board, out["largest_down"]), file=sys.stderr,
                      flush=True)
                if largest_up:
                    up, _ = tvm_transfer.round_trip(sess, n)
                    out["largest_up"] = rate(n, up)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boards", default=",".join(mtq_tvm.BOARDS))
    ap.add_argument("--max", type=int, default=1 << 20)
    ap.add_argument("--largest", action="store_true")
    ap.add_argument("--largest-up", action="store_true")
    ap.add_argument("--links", action="store_true", help="one tensor over each link")
    ap.add_argument("--tensor", type=int, default=256 << 10)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one board
    args = ap.parse_args()
    mtq_tvm.import_tvm()
    if args.links:
        boards = [b for b in args.boards.split(",") if has_fast_link(b)]
        return compare_links(boards, args.tensor)
    if args.one:
        json.dump(one_board(args.one, args.max, args.largest, args.largest_up), sys.stdout)
        return 0
    children = {}
    for board in args.boards.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--one", board, "--max", str(args.max)]
        cmd += ["--largest"] if args.largest else []
        cmd += ["--largest-up"] if args.largest_up else []
        children[board] = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    result = {"boards": {}}
    status = 0
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        for board, child in children.items():
            text, _ = child.communicate()
            try:
                result["boards"][board] = json.loads(text)
            except ValueError:
                result["boards"][board] = {"error": "exit status %d" % child.returncode}
            if child.returncode != 0:
                status = 1
    finally:  # stopped early: each child cleans up after itself on SIGTERM
        for child in children.values():
            if child.poll() is None:
                child.terminate()
                child.wait()
    print(json.dumps(result, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
