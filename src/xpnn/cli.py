"""The xpnn command: xpnn course, xpnn bench, xpnn lesson NAME."""

from __future__ import annotations

import argparse
import sys
import warnings


def _add_backend_options(parser, dtype=True):
    parser.add_argument("--backend", default=None,
                        help='"cpu", "gpu", "auto", "torch", ... (default: $XPNN_BACKEND or cpu)')
    parser.add_argument("--strict-gpu", action="store_true",
                        help='with --backend gpu: stop with an error instead of falling back to the CPU '
                             '(also $XPNN_STRICT_GPU=1)')
    if dtype:
        parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])


def _checked_backend(args):
    """The --backend the user gave, resolved once here so that a typo or a strict GPU request
    that cannot be met ends with one line (exit 2), and a fallback warning names the CLI flag."""
    import os

    from .backend import GPUUnavailableError, XpnnFallbackWarning, get_backend

    if args.backend is None:  # $XPNN_BACKEND, resolved here too: one clean line, not a raw warning
        args.backend = os.environ.get("XPNN_BACKEND") or None
        if args.backend is None:
            return None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", XpnnFallbackWarning)
            backend = get_backend(args.backend, strict=args.strict_gpu)
    except (ValueError, ImportError, GPUUnavailableError) as exc:
        _fail(str(exc))
    for warning in caught:
        print(f"xpnn: warning: {backend.fallback_reason}; running on NumPy (CPU) instead. Pass "
              "--strict-gpu (or set XPNN_STRICT_GPU=1) to make this an error.", file=sys.stderr)
    return backend


def _fail(message):
    print(f"xpnn: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _writable_file(path, option):
    """Stop (one line, exit 2) before any work when ``path`` cannot be written."""
    import os

    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        _fail(f"{option} {path}: cannot write there (the folder {folder} does not exist)")
    _writable_folder(folder, option, shown=path)


def _ratio(text):
    """A finite ratio above 0 (argparse type: its error is one line, exit 2)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite ratio above 0 (e.g. 1.25)")
    return value


def _picture_file(path, option):
    """Stop (one line, exit 2) before any work unless ``path`` names a picture file matplotlib
    writes as named (a known extension, not a folder): it never appends an extension, so no
    file the user did not name is written."""
    import os

    from matplotlib.backend_bases import FigureCanvasBase

    if os.path.isdir(path):
        _fail(f"{option} {path}: that is a folder; name the picture file, e.g. "
              f"{os.path.join(path, 'costs.png')}")
    supported = FigureCanvasBase.get_supported_filetypes()
    extension = os.path.splitext(path)[1][1:].lower()
    if extension not in supported:
        _fail(f"{option} {path}: name a picture file ending in one of "
              f"{', '.join('.' + e for e in sorted(supported))}")
    _writable_file(path, option)


def _writable_folder(path, option, shown=None):
    """Create ``path`` and write a probe file in it, or stop (one line, exit 2) before any work
    (os.access is not enough: root passes it for /proc)."""
    import os
    import tempfile

    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        _fail(f"{option} {shown or path}: cannot write there ({exc.strerror or exc})")


def _checked_backends(names):
    """Each name of a comma list checked before a long run (one line, exit 2 on a typo)."""
    from ._config import _canonical

    for name in names:
        try:
            _canonical(name)
        except ValueError as exc:
            _fail(str(exc))
    return names


def _course(args):
    from tqdm import tqdm

    from .course import format_results, run_course, total_iterations

    if args.plot:
        _require_matplotlib("--plot")
        _picture_file(args.plot, "--plot")
    with tqdm(total=total_iterations(args.seeds, args.quick), unit="it", disable=None,
              desc="training", leave=False) as bar:
        results = run_course(backend=_checked_backend(args), dtype=args.dtype, seeds=args.seeds,
                             quick=args.quick, progress=bar.update)
    print(format_results(results))
    if args.plot:
        from .plotting import plot_course_costs

        plot_course_costs(results, args.plot)
        print(f"cost curves written to {args.plot}")
    return 0


def _bench(args):
    import json
    import os

    from tqdm import tqdm

    from . import bench

    backends = _checked_backends(tuple(args.backend.split(","))) if args.backend else ("numpy", "gpu")
    old = None
    if args.compare:
        try:
            with open(args.compare) as f:
                old = json.load(f)
        except (OSError, ValueError) as exc:
            _fail(f"--compare {args.compare}: cannot read a benchmark run ({exc})")
    _writable_folder(args.out, "--out")
    if args.report:
        try:
            run = bench.from_journal(args.report)
        except ValueError as exc:
            _fail(f"--report {exc}")
        return _bench_report(run, args, old)
    dtypes = (args.dtype,) if args.dtype else ("float64", "float32")
    profile = "full" if args.full else "smoke" if args.smoke else "quick"
    with tqdm(total=bench.count_cases(profile, backends, dtypes, args.dask, loops=not args.no_loops),
              unit="case", disable=None, leave=False) as bar:
        def progress(case):
            bar.set_postfix_str(f"{case.group} {case.column}", refresh=False)
            bar.update()
        run = bench.run(profile, backends, dtypes, progress=progress, with_dask=args.dask,
                        loops=not args.no_loops, journal=os.path.join(args.out, "journal.jsonl"))
    return _bench_report(run, args, old)


def _bench_report(run, args, old):
    from . import bench

    print(bench.report.format_table(run))
    for path in bench.report.write(run, args.out):
        print(f"wrote {path}")
    if old is not None:
        lines, regressed = bench.report.compare(run, old, args.threshold)
        print("\n".join(lines))
        if regressed:
            print(f"slower than {args.threshold}x the old minimum: see SLOWER above")
            return 1
    return 1 if run["failed"] else 0


def _export(args):
    import os

    from .export import to_onnx
    from .persistence import load

    if not args.onnx.endswith(".onnx") or os.path.isdir(args.onnx):
        _fail(f"export {args.onnx}: name the ONNX file to write, ending in .onnx")
    _writable_file(args.onnx, "export")
    try:
        model = load(args.model)
        proto = to_onnx(model, dtype=args.dtype, zipmap=args.zipmap)
    except (OSError, ValueError, ImportError) as exc:
        _fail(f"export {args.model}: {exc}")
    with open(args.onnx, "wb") as f:
        f.write(proto.SerializeToString())
    print(f"wrote {args.onnx} ({type(model).__name__}, {args.dtype})")
    return 0


def _lesson(args):
    from .lessons import LESSONS, run

    if args.name is None:
        print("lessons (run one with: xpnn lesson NAME [--quick]):")
        for name in LESSONS:
            print(f"  {name}")
        return 0

    _require_matplotlib("xpnn lesson")
    _writable_folder(args.out, "--out")
    run(_LESSON_ALIASES.get(args.name, args.name), backend=_checked_backend(args), out=args.out,
        quick=args.quick)
    return 0


_LESSON_ALIASES = {"vectorization": "vectorisation", "initialization": "initialisation"}


def _require_matplotlib(option):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit(f"{option} needs matplotlib: pip install 'xpnn[plot]'")


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(prog="xpnn", description=__doc__)
    parser.add_argument("--version", action="version", version=f"xpnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    course = commands.add_parser("course", help="train the course's models on the course's data")
    _add_backend_options(course)
    course.add_argument("--seeds", type=int, default=1,
                        help="runs of each randomly initialised model (mean ± sd when > 1)")
    course.add_argument("--plot", metavar="OUT.png", help="write the cost curves (needs matplotlib)")
    course.add_argument("--quick", action="store_true", help="300 iterations per model (smoke run)")
    course.set_defaults(run=_course)

    bench = commands.add_parser("bench", help="time loop vs vectorised vs GPU vs peers")
    size = bench.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="the full profile (course sizes, m=8192)")
    size.add_argument("--smoke", action="store_true",
                      help="every case once on small data: checks the machinery, measures nothing useful")
    bench.add_argument("--backend", help="xpnn backends to time, comma-separated, any backend name "
                       "(default numpy,gpu; gpu or cuda: CuPy; torch-cuda: xpnn on torch's CUDA "
                       "device; jax: on its default device, a GPU where JAX has one); GPU columns "
                       "are skipped, never faked, without a GPU")
    bench.add_argument("--dtype", choices=["float64", "float32"], help="only this dtype")
    bench.add_argument("--dask", action="store_true",
                       help="also time Dask with 1 and 2 workers against NumPy (needs xpnn[dask])")
    bench.add_argument("--no-loops", action="store_true",
                       help="leave out the (slow, CPU-only) loop columns, e.g. on a GPU machine")
    bench.add_argument("--out", default="bench-results", help="folder for JSON, markdown and PNG")
    bench.add_argument("--report", metavar="JOURNAL",
                       help="run nothing: write the report of a journal.jsonl (a run cut short too)")
    bench.add_argument("--compare", metavar="OLD.json", help="compare with an earlier results.json")
    bench.add_argument("--threshold", type=_ratio, default=1.25,
                       help="with --compare: exit 1 when a case is slower than this x the old minimum "
                       "(default 1.25: above the run-to-run noise of separate runs, about 15%%; for a "
                       "real A/B interleave the two versions in one session)")
    bench.set_defaults(run=_bench)

    export = commands.add_parser("export", help="write a saved model (.npz) as ONNX, for onnxruntime")
    export.add_argument("model", help="a model file written by save()")
    export.add_argument("onnx", help="the .onnx file to write")
    export.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    export.add_argument("--zipmap", action="store_true",
                        help="classifiers: probabilities as scikit-learn's converters give them")
    export.set_defaults(run=_export)

    from .lessons import LESSONS

    lesson = commands.add_parser("lesson", help="run one of the course's lessons, with its picture")
    lesson.add_argument("name", nargs="?", choices=[*LESSONS, *_LESSON_ALIASES], metavar="NAME",
                        help=f"one of {', '.join(LESSONS)} (none: list them)")
    _add_backend_options(lesson, dtype=False)
    lesson.add_argument("--out", default="lessons", help="folder for the PNG (default: lessons)")
    lesson.add_argument("--quick", action="store_true", help="seconds: few iterations, small sizes")
    lesson.set_defaults(run=_lesson)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if getattr(args, "seeds", 1) < 1:
        _fail("--seeds must be >= 1")
    return args.run(args)
