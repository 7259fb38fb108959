#!/usr/bin/python3
"""TVM's own time_evaluator against the real CRT on every board: in deterministic mode (the
default) its result must be the same on every call and every boot, so number=1, repeat=1 is
enough, and seconds * 1e9 is the operator's instruction count (firmware/platform/platform.c).

Run through tests/tvm/with_tvm.sh, which sets TVM 0.18's Python package and its standalone CRT
(MTQ_STANDALONE_CRT); exits 77 (CTest's skip) without them. MTQ_TEMPLATE_DIR is the build's
template project (CTest sets it). MTQ_TVM_BOARDS (comma-separated) picks boards; default: all.
"""
import json
import os
import shutil
import sys
import tempfile
import time

SKIP = 77


def skip(why):
    print("time_evaluator_exact: skipping: " + why)
    sys.exit(SKIP)


try:
    import numpy as np
    import tvm
    import tvm.micro
    import tvm.micro.project_api.server
    from tvm import relay
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
    """y = x * 3 + x, int8, n elements, as relay.build makes it for host_driven (graph executor,
    CRT with system-lib): one fused operator of known shape, taking (x, 3, y). Returns the module
    and the operator's function name."""
    x = relay.var("x", shape=(n,), dtype="int8")
    y = relay.add(relay.multiply(x, relay.const(3, "int8")), x)
    target = tvm.target.Target("c -keys=cpu -model=host")
    with tvm.transform.PassContext(opt_level=3, config={"tir.disable_vectorize": True}):
        module = relay.build(tvm.IRModule.from_expr(relay.Function([x], y)), target=target,
                             runtime=Runtime("crt", {"system-lib": True}))
    graph = json.loads(module.get_graph_json())
    names = [nd["attrs"]["func_name"] for nd in graph["nodes"] if nd["op"] == "tvm_op"]
    return module, names[0]


def open_session(project, proj_dir, options):
    """A session on the project (the one given, else the directory's), entered. TVM ends a
    project's server when its session closes; the server exits a moment later, and until then
    the board is in use, so that is waited for."""
    for attempt in range(50):
        if project is None:
            project = tvm.micro.GeneratedProject.from_directory(proj_dir, options)
        session = tvm.micro.Session(project.transport())
        try:
            return session.__enter__()
        except tvm.micro.project_api.server.ServerError as e:
            if "in use" not in str(e) or attempt == 49:
                raise
            project = None
            time.sleep(0.2)


def measure(project, proj_dir, options, func, n, sessions=2, calls=3):
    """Every time_evaluator result, over a few boots and calls, and the output it computed."""
    results, outputs = [], []
    for k in range(sessions):
        session = open_session(project if k == 0 else None, proj_dir, options)
        try:
            dev = session.device
            a = tvm.nd.array(np.arange(n, dtype="int8"), dev)
            three = tvm.nd.array(np.array(3, dtype="int8"), dev)  # the constant, a parameter
            c = tvm.nd.array(np.zeros(n, dtype="int8"), dev)
            f = session.get_system_lib().time_evaluator(func, dev, number=1, repeat=1)
            for _ in range(calls):
                results.append(f(a, three, c).mean)
            outputs.append(c.numpy())
        finally:
            session.__exit__(None, None, None)
    return results, outputs


def main():
    work = tempfile.mkdtemp(prefix="mtq-tvm-time-")
    failures = 0
    try:
        small, large = build_operator(8), build_operator(9)
        for board in boards():
            counts = {}
            for n, (module, func) in ((8, small), (9, large)):
                proj = os.path.join(work, "%s-%d" % (board, n))
                options = {"project_type": "host_driven", "board": board}
                project = tvm.micro.generate_project(TEMPLATE, module, proj, options)
                project.build()
                project.flash()
                results, outputs = measure(project, proj, options, func, n)
                del project
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
