#!/usr/bin/python3
"""AutoTVM on the emulated boards, driven by TVM's own Python.

What a TVM 0.18 user runs: a conv2d task (conv2d_nhwc_spatial_pack.arm_cpu, int8, as in
../shared/fixtures/tvm-0.18/autotvm_conv2d.tar but on a 4x4 image, so that the output read back
stays at 512 bytes) tuned with autotvm.LocalBuilder +
tvm.micro.autotvm_build_func and autotvm.LocalRunner + tvm.micro.AutoTvmModuleLoader over this
server's template. Each candidate is exported with tvm.build + export_model_library_format (an
operator archive), generated, built, flashed and timed on the board with time_evaluator. Every
trial must measure (no error). Then the best config is built once more, run on the board with
uploaded operands and read back, and checked against the same operator run on the host.

Usage: tests/tvm/with_tvm.sh tests/tvm/test_autotvm_micro.py [--boards B,B] [--trials N] [--template DIR]
Environment: PYTHONPATH and TVM_LIBRARY_PATH naming TVM 0.18 (see ../shared/tools/tvm-0.18),
MTQ_TEMPLATE_DIR (default build/template_project). Exit 77 (skip) when tvm is not importable.
Prints one JSON object per board on stdout.
"""

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

try:
    import numpy as np
    import tvm
    import tvm.micro
    from tvm import autotvm, relay, te, topi  # noqa: F401
    from tvm.relay.backend import Runtime
except ImportError as e:
    print(f"skipped: TVM is not importable ({e}); set PYTHONPATH and TVM_LIBRARY_PATH to TVM 0.18")
    sys.exit(77)

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent.parent
TARGET = "c -keys=arm_cpu,cpu -device=arm_cpu -model=host"
TASK = "conv2d_nhwc_spatial_pack.arm_cpu"
DATA = ((1, 4, 4, 4), "int8")
KERNEL = ((3, 3, 4, 8), "int8")


def conv2d_task():
    args = (("TENSOR", *DATA), ("TENSOR", *KERNEL), (1, 1), (1, 1, 1, 1), (1, 1), "int32")
    return autotvm.task.create(TASK, args=args, target=tvm.target.Target(TARGET))


def tune(task, template, board, trials, log):
    """TVM's AutoTVM with the micro builder and module loader: every trial must measure."""
    options = {"project_type": "host_driven", "board": board}
    loader = tvm.micro.AutoTvmModuleLoader(template_project_dir=template, project_options=options)
    builder = autotvm.LocalBuilder(
        n_parallel=1, do_fork=False, build_func=tvm.micro.autotvm_build_func,
        build_kwargs={"build_option": {"tir.disable_vectorize": True}},
        runtime=Runtime("crt", {"system-lib": True}))
    runner = autotvm.LocalRunner(number=3, repeat=1, timeout=60, module_loader=loader)
    results = []

    def keep(_tuner, _inputs, res):
        results.extend(res)

    tuner = autotvm.tuner.GridSearchTuner(task)
    start = time.monotonic()
    tuner.tune(n_trial=trials, measure_option=autotvm.measure_option(builder=builder,
                                                                    runner=runner),
               callbacks=[autotvm.callback.log_to_file(str(log)), keep])
    return results, time.monotonic() - start


def best_on_board(task, template, board, log, work):
    """The best config built once more, run on the board with uploaded operands, read back and
    compared with the host's result of the same schedule."""
    rng = np.random.default_rng(9)
    with autotvm.apply_history_best(str(log)):
        with tvm.target.Target(TARGET):
            s, args = task.func(*task.args)
    with tvm.transform.PassContext(opt_level=3, config={"tir.disable_vectorize": True}):
        mod = tvm.build(s, args, target=TARGET, runtime=Runtime("crt", {"system-lib": True}))
        host = tvm.build(s, args, target="llvm")
    # operands in the call's order: the placeholders get random values, the output zeros
    values = [rng.integers(-8, 8, size=get_shape(t), dtype=t.dtype)
              if isinstance(t.op, te.PlaceholderOp) else np.zeros(get_shape(t), t.dtype)
              for t in args]
    on_host = [tvm.nd.array(v) for v in values]
    host(*on_host)
    outputs = [i for i, t in enumerate(args) if not isinstance(t.op, te.PlaceholderOp)]
    project = tvm.micro.generate_project(template, mod, work / f"best-{board}",
                                         {"project_type": "host_driven", "board": board})
    project.build()
    project.flash()
    with tvm.micro.Session(project.transport()) as sess:
        on_board = [tvm.nd.array(v, device=sess.device) for v in values]
        sess.get_system_lib().get_function("default_function")(*on_board)
        exact = all(np.array_equal(on_board[i].numpy(), on_host[i].numpy()) for i in outputs)
        moved = sum(on_board[i].numpy().nbytes for i in outputs)
    return exact, moved


def get_shape(t):
    return tuple(int(x) for x in t.shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--boards", default="mps2-an385,riscv32-virt")
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--template", default=os.environ.get(
        "MTQ_TEMPLATE_DIR", str(SOURCE / "build" / "template_project")))
    a = ap.parse_args()
    if not pathlib.Path(a.template, "launch_microtvm_api_server.sh").exists():
        print(f"{a.template}: not a built template; build the project first (scripts/build.sh)")
        return 1
    failed = False
    work = pathlib.Path(tempfile.mkdtemp(prefix="mtq-autotvm-"))
    if "MTQ_CACHE_DIR" not in os.environ:  # never the user's firmware cache
        os.environ["MTQ_CACHE_DIR"] = str(work / "cache")
    try:
        for board in a.boards.split(","):
            task = conv2d_task()
            log = work / f"{board}.log"
            results, seconds = tune(task, a.template, board, a.trials, log)
            errors = [r.error_no for r in results if r.error_no != 0]
            costs = [float(np.mean(r.costs)) for r in results if r.error_no == 0]
            exact, out_bytes = best_on_board(task, a.template, board, log, work)
            report = {"board": board, "trials": len(results), "measured": len(costs),
                      "errors": errors, "tuning_s": round(seconds, 3),
                      # AutoTVM's own figure per trial: export, generate, build, flash, open,
                      # measure (the first one fills the firmware cache)
                      "trial_s": [round(r.all_cost, 3) for r in results],
                      "best_cost_s": min(costs) if costs else None,
                      "config_space": len(task.config_space),
                      "best_checked_against_host": exact, "output_bytes": out_bytes}
            print(json.dumps(report), flush=True)
            if errors or len(costs) != a.trials or not exact:
                failed = True
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
