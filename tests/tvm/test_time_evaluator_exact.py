#!/usr/bin/python3
"""TVM's own time_evaluator against the real CRT on every board: in deterministic mode (the
default) its result must be the same on every call and every boot, so number=1, repeat=1 is
enough, and seconds * 1e9 is the operator's instruction count (firmware/platform/platform.c).

Run through tests/tvm/with_tvm.sh, which sets TVM 0.18's Python package and its standalone CRT
(MTQ_STANDALONE_CRT); exits 77 (CTest's skip) without them. MTQ_TEMPLATE_DIR is the build's
template project (CTest sets it). MTQ_TVM_BOARDS (comma-separated) picks boards; default: all.
"""
import os
import shutil
import sys
import tempfile

SKIP = 77


def skip(why):
    print("time_evaluator_exact: skipping: " + why)
    sys.exit(SKIP)


try:
    import numpy as np
    import tvm
    import tvm.micro
    from tvm import te
    from tvm.relay.backend import Runtime
except ImportError as e:  # no TVM on this machine
    skip("TVM's Python package is not importable (%s); run through tests/tvm/with_tvm.sh" % e)

CRT = os.environ.get("MTQ_STANDALONE_CRT", "")
TEMPLATE = os.environ.get("MTQ_TEMPLATE_DIR", "")
SOURCE = os.environ.get("MTQ_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
if not CRT or not os.path.isdir(CRT):
    skip("MTQ_STANDALONE_CRT does not name TVM's standalone CRT")
if not TEMPLATE or not os.path.isdir(TEMPLATE):
    skip("MTQ_TEMPLATE_DIR does not name the build's template project")


def boards():
    listed = os.environ.get("MTQ_TVM_BOARDS", "")
    if listed:
        return [b for b in listed.split(",") if b]
    names = os.listdir(os.path.join(SOURCE, "machines"))
    return sorted(n[:-5] for n in names if n.endswith(".json"))


def build_operator(n):
    """C[i] = A[i] * B[0] + A[i], int8, n elements: an operator of known shape."""
    a = te.placeholder((n,), dtype="int8", name="A")
    b = te.placeholder((1,), dtype="int8", name="B")
    c = te.compute(a.shape, lambda i: a[i] * b[0] + a[i], name="C")
    s = te.create_schedule(c.op)
    target = tvm.target.Target("c -keys=cpu -model=host")
    with tvm.transform.PassContext(opt_level=3, config={"tir.disable_vectorize": True}):
        return tvm.build(s, [a, b, c], target=target, runtime=Runtime("crt", {"system-lib": True}),
                         name="mul_add")


def measure(project, n, sessions=2, calls=3):
    """Every time_evaluator result, over a few boots and calls, and the output it computed."""
    results, outputs = [], []
    for _ in range(sessions):
        with tvm.micro.Session(project.transport()) as session:
            dev = session.device
            a = tvm.nd.array(np.arange(n, dtype="int8"), dev)
            b = tvm.nd.array(np.array([3], dtype="int8"), dev)
            c = tvm.nd.array(np.zeros(n, dtype="int8"), dev)
            f = session.get_system_lib().time_evaluator("mul_add", dev, number=1, repeat=1)
            for _ in range(calls):
                results.append(f(a, b, c).mean)
            outputs.append(c.numpy())
    return results, outputs


def main():
    work = tempfile.mkdtemp(prefix="mtq-tvm-time-")
    failures = 0
    try:
        small, large = build_operator(8), build_operator(9)
        for board in boards():
            counts = {}
            for n, module in ((8, small), (9, large)):
                proj = os.path.join(work, "%s-%d" % (board, n))
                project = tvm.micro.generate_project(
                    TEMPLATE, module, proj,
                    {"project_type": "host_driven", "board": board, "standalone_crt_dir": CRT})
                project.build()
                project.flash()
                results, outputs = measure(project, n)
                want = (np.arange(n, dtype="int8") * 4).astype("int8")
                ok_out = all((o == want).all() for o in outputs)
                insns = [r * 1e9 for r in results]
                same = len(set(results)) == 1
                whole = all(abs(i - round(i)) < 1e-3 for i in insns)
                counts[n] = round(insns[0])
                print("%-14s n=%d: %d results, %s, %d instructions%s%s" % (
                    board, n, len(results), "all identical" if same else "DIFFER: %s" % results,
                    counts[n], "" if whole else " (NOT whole)", "" if ok_out else " WRONG OUTPUT"))
                failures += (not same) + (not whole) + (not ok_out)
                shutil.rmtree(proj, ignore_errors=True)
            # one element more is more instructions, and the two are told apart
            if not counts[9] > counts[8]:
                print("%s: 9 elements (%d) not more than 8 (%d)" % (board, counts[9], counts[8]))
                failures += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("time_evaluator_exact: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
