"""Shared pieces of the tests and benchmarks that drive the template with TVM's own Python.

Run through tests/tvm/with_tvm.sh, which puts TVM on PYTHONPATH and sets MTQ_STANDALONE_CRT
and MTQ_SOURCE_DIR. The template comes from MTQ_TEMPLATE_DIR (CTest sets it), else the
default build's build/template_project. Every project, and the firmware cache unless the
caller gives MTQ_CACHE_DIR, lives in one temporary directory that scratch() removes.
"""

import contextlib
import os
import shutil
import signal
import sys
import tarfile
import tempfile

SKIP = 77  # CTest's SKIP_RETURN_CODE, as with_tvm.sh uses

SOURCE_DIR = os.environ.get("MTQ_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Every board of machines/ (a new board file joins every test), sorted as the C tests sort them.
BOARDS = sorted(name[:-len(".json")] for name in os.listdir(os.path.join(SOURCE_DIR, "machines"))
                if name.endswith(".json"))


def skip(why):
    print("SKIPPED: " + why, file=sys.stderr)
    sys.exit(SKIP)


def import_tvm():
    """tvm and tvm.micro, or a plain skip when this Python cannot import them."""
    try:
        import tvm  # noqa: F401
        import tvm.micro  # noqa: F401
    except ImportError as e:
        skip("TVM's Python does not import here (%s); run through tests/tvm/with_tvm.sh" % e)
    return sys.modules["tvm"]


def template_dir():
    path = os.environ.get("MTQ_TEMPLATE_DIR") or os.path.join(SOURCE_DIR, "build",
                                                               "template_project")
    if not os.path.isfile(os.path.join(path, "launch_microtvm_api_server.sh")):
        skip("no template project at %s: build first (scripts/build.sh build)" % path)
    return path


@contextlib.contextmanager
def scratch(prefix="mtq-tvm-"):
    """A temporary directory, removed afterwards; the firmware cache goes in it unless the
    caller set MTQ_CACHE_DIR (so a test never fills the user's ~/.cache)."""
    # SIGTERM (a CTest or CI timeout, a parent giving up) unwinds like an exception, so the
    # directory goes, and each project's server stops its board on the way
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    d = tempfile.mkdtemp(prefix=prefix)
    old = os.environ.get("MTQ_CACHE_DIR")
    if old is None:
        os.environ["MTQ_CACHE_DIR"] = os.path.join(d, "cache")
    try:
        yield d
    finally:
        if old is None:
            del os.environ["MTQ_CACHE_DIR"]
        shutil.rmtree(d, ignore_errors=True)


def digits_mlf(workdir):
    """The project's own sample model (tests/fixtures/mlf/digits_int8) as an MLF tar, for a
    host_driven project that only needs some model to build."""
    src = os.path.join(SOURCE_DIR, "tests", "fixtures", "mlf", "digits_int8")
    out = os.path.join(workdir, "digits_int8.tar")
    with tarfile.open(out, "w") as tar:
        for name in sorted(os.listdir(src)):
            tar.add(os.path.join(src, name), arcname=name)
    return out


def host_driven_project(workdir, board, mlf, **options):
    """generate_project for a host_driven project on board, built and flashed."""
    import tvm.micro

    opts = {"project_type": "host_driven", "board": board}
    opts.update(options)
    project = tvm.micro.project.generate_project_from_mlf(
        template_dir(), os.path.join(workdir, board), mlf, opts)
    project.build()
    project.flash()
    return project
