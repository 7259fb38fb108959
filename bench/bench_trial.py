#!/usr/bin/python3
"""What one AutoTVM trial costs on each board, step by step, with TVM's own Python and its real
C runtime: the steps tvm.micro.AutoTvmModuleLoader and autotvm.LocalRunner take for every
candidate (compile_and_create_micro_session, then time_evaluator), timed one by one.

  generate  TemplateProject.from_directory + generate_project_from_mlf (the candidate's
            operator archive: ../shared/fixtures/tvm-0.18/autotvm_conv2d.tar)
  build     project.build()
  flash     project.flash()
  open      Session.__enter__: open_transport and the RPC session's handshake
  measure   upload the operands, time_evaluator(number=3, repeat=1), as LocalRunner does
  close     Session.__exit__: close_transport

Warm cache: one trial per board first fills the firmware cache (reported as "cold"), then
--trials more are timed; each step's figure is the median over them. Wall time depends on what
else the machine runs (the load average is reported), so each step's CPU time is reported too:
the CPU this process's descendants (the servers, CMake, Ninja, the compilers, QEMU) used in the
step, which other load hardly changes. TVM's own Python side is not in it. Prints one JSON
object.
Usage: tests/tvm/with_tvm.sh bench/bench_trial.py [--boards B,B] [--trials N]
Exit 77 when TVM is not importable or the shared archive is absent.
"""

import argparse
import json
import resource
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

SOURCE = pathlib.Path(__file__).resolve().parent.parent
ARCHIVE = SOURCE.parent / "shared" / "fixtures" / "tvm-0.18" / "autotvm_conv2d.tar"
BOARDS = "mps2-an385,mps2-an386,mps2-an500,mps2-an505,riscv32-virt,riscv64-virt"
STEPS = ("generate", "build", "flash", "open", "measure", "close")

try:
    import numpy as np
    import tvm
    import tvm.micro
    from tvm.micro import project
    import psutil
except ImportError as e:
    print(f"skipped: TVM is not importable ({e}); set PYTHONPATH and TVM_LIBRARY_PATH")
    sys.exit(77)


def descendants_cpu():
    """CPU seconds of every process this one started, live or ended (reaped into its parent's
    children times): each live one's own and its reaped children's, plus ours reaped."""
    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            c = p.cpu_times()
            total += c.user + c.system + c.children_user + c.children_system
        except psutil.Error:
            pass  # ended meanwhile: its time is in its parent's children times
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return total + r.ru_utime + r.ru_stime


def trial(template, board, work, n):
    """One trial's steps; returns {step: seconds}, {step: CPU seconds} and the measured cost."""
    t, cpu = {}, {}
    start, cpu_start = time.monotonic(), descendants_cpu()

    def lap(step):
        nonlocal start, cpu_start
        now, cpu_now = time.monotonic(), descendants_cpu()
        t[step], cpu[step] = now - start, cpu_now - cpu_start
        start, cpu_start = now, cpu_now

    tp = project.TemplateProject.from_directory(template)
    proj = tp.generate_project_from_mlf(str(ARCHIVE), str(work / f"{board}-{n}"),
                                        {"project_type": "host_driven", "board": board})
    lap("generate")
    proj.build()
    lap("build")
    proj.flash()
    lap("flash")
    sess = tvm.micro.Session(proj.transport())
    sess.__enter__()
    lap("open")
    dev = sess.device
    rng = np.random.default_rng(n)
    out = tvm.nd.empty((1, 8, 8, 8), "int32", dev)
    kernel = tvm.nd.array(rng.integers(-8, 8, (3, 3, 4, 8), dtype="int8"), dev)
    data = tvm.nd.array(rng.integers(-8, 8, (1, 8, 8, 4), dtype="int8"), dev)
    evaluator = sess.get_system_lib().time_evaluator("default_function", dev, number=3, repeat=1)
    cost = evaluator(out, kernel, data).mean
    lap("measure")
    sess.__exit__(None, None, None)
    lap("close")
    return t, cpu, cost


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--boards", default=BOARDS)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--template", default=os.environ.get(
        "MTQ_TEMPLATE_DIR", str(SOURCE / "build" / "template_project")))
    a = ap.parse_args()
    if not ARCHIVE.exists():
        print(f"skipped: {ARCHIVE} is absent (no ../shared beside the source tree)")
        return 77
    work = pathlib.Path(tempfile.mkdtemp(prefix="mtq-bench-trial-"))
    own_cache = "MTQ_CACHE_DIR" not in os.environ
    if own_cache:  # never the user's cache: the cold figure must be cold
        os.environ["MTQ_CACHE_DIR"] = str(work / "cache")
    report = {"bench": "trial", "archive": ARCHIVE.name, "trials": a.trials,
              "load_average_1min": {"start": round(os.getloadavg()[0], 2)}, "boards": {}}
    try:
        for board in a.boards.split(","):
            cold, _, _ = trial(a.template, board, work, 0)
            runs = [trial(a.template, board, work, n + 1) for n in range(a.trials)]

            def median(i, step):
                return round(statistics.median(r[i][step] for r in runs), 3)

            report["boards"][board] = {
                "cold_s": {s: round(cold[s], 3) for s in STEPS},
                "warm_median_s": {s: median(0, s) for s in STEPS},
                "warm_median_cpu_s": {s: median(1, s) for s in STEPS},
                "warm_trial_s": round(statistics.median(sum(r[0].values()) for r in runs), 3),
                "warm_trial_cpu_s": round(statistics.median(sum(r[1].values()) for r in runs),
                                          3),
                "cost_s": statistics.median(r[2] for r in runs),
            }
        report["load_average_1min"]["end"] = round(os.getloadavg()[0], 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
