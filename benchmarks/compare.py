"""Compare a benchmark run with the stored baseline; exit 1 when a case is slower than the
baseline's stored ``threshold`` (default 25 %).

Each case is compared as ``seconds / reference-kernel seconds`` of its own process (see
bench_suite.py), so a machine that is slower or busier overall does not count as a
regression; a case whose baseline took under :data:`MIN_SECONDS` is shown but not judged
(timer noise). Peak memory is shown beside it (not judged).

    python benchmarks/compare.py                      # run the default suite, then compare
    python benchmarks/compare.py --results out/bench/latest.json   # compare a saved run
    python benchmarks/compare.py --quick              # the CI cases, best of 3 (1-2 minutes)
    python benchmarks/compare.py --update             # run and store it as the baseline
    python benchmarks/compare.py --plot docs/images/scaling.png    # also draw the scaling

Exit codes: 0 no regression, 1 a case more than the threshold slower.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_suite import CASES, QUICK, run_suite  # noqa: E402

BASELINE = ROOT / "benchmarks" / "baselines" / "baseline.json"
MIN_SECONDS = 0.05
QUICK_REPEAT = 3
"""Runs per quick case (the best kept): the quick cases are short, and one run's ratio on a
shared machine varied up to 1.7x."""


def compare(baseline: dict, results: dict, threshold: float) -> tuple[list[str], list[str]]:
    """(printed lines, names of regressed cases)."""
    lines = [f"{'case':<17} {'base ratio':>10} {'new ratio':>10} {'change':>8} "
             f"{'base s':>7} {'new s':>7} {'base GiB':>8} {'new GiB':>8}"]
    regressed = []
    for name, new in results["cases"].items():
        old = baseline["cases"].get(name)
        if old is None:
            lines.append(f"{name:<17} (not in the baseline)")
            continue
        change = new["ratio"] / old["ratio"] - 1.0
        judged = old["seconds"] >= MIN_SECONDS
        verdict = ("" if not judged else "SLOWER" if change > threshold else "ok")
        if judged and change > threshold:
            regressed.append(name)
        lines.append(f"{name:<17} {old['ratio']:>10.2f} {new['ratio']:>10.2f} "
                     f"{100 * change:>+7.1f}% {old['seconds']:>7.2f} {new['seconds']:>7.2f} "
                     f"{old['peak_GiB']:>8.2f} {new['peak_GiB']:>8.2f} "
                     f"{verdict or '(too short to judge)'}")
    return lines, regressed


def plot_scaling(results: dict, path: Path) -> Path:
    """Log-log time and peak memory against unknowns for the thermal and mechanical cases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    for kind, marker in (("thermal", "o"), ("mechanical", "s"), ("mesh", "^")):
        rows = sorted((r for r in results["cases"].values() if r["kind"] == kind),
                      key=lambda r: r["unknowns"])
        if not rows:
            continue
        n = [r["unknowns"] for r in rows]
        label = {"thermal": "thermal Q1 (assembly + solve)", "mechanical":
                 "mechanical HexS2 (assembly + solve)", "mesh": "meshing (x = cells)"}[kind]
        ax_t.loglog(n, [r["seconds"] for r in rows], marker=marker, label=label)
        ax_m.loglog(n, [r["peak_GiB"] for r in rows], marker=marker, label=label)
    ax_t.set(xlabel="unknowns", ylabel="wall time, s (one thread)",
             title="time vs problem size")
    ax_m.set(xlabel="unknowns", ylabel="peak memory (RSS), GiB", title="memory vs problem size")
    for ax in (ax_t, ax_m):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"thermomech scaling, default flip-chip quarter model ({results['date']})",
                 fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=None, help="a saved bench_suite run (JSON); "
                                                        "default: run the default suite now")
    parser.add_argument("--baseline", default=str(BASELINE))
    parser.add_argument("--threshold", type=float, default=None,
                        help="allowed slowdown (default: the baseline's stored 'threshold', "
                             "else 0.25)")
    parser.add_argument("--update", action="store_true", help="store the run as the baseline")
    parser.add_argument("--quick", action="store_true",
                        help="run only the quick cases (CI: bench_suite.QUICK)")
    parser.add_argument("--plot", default=None, help="write the scaling figure here")
    args = parser.parse_args(argv)
    if args.results:
        results = json.loads(Path(args.results).read_text())
    else:
        cases = {k: v for k, v in CASES.items() if k in QUICK} if args.quick else CASES
        results = run_suite(cases, ROOT / "out" / "bench" / "latest.json",
                            repeat=QUICK_REPEAT if args.quick else 1)
    if args.plot:
        print(f"-> {plot_scaling(results, Path(args.plot))}")
    baseline_path = Path(args.baseline)
    if args.update:
        baseline_path.parent.mkdir(parents=True, exist_ok=True)
        stored = json.loads(baseline_path.read_text()) if baseline_path.exists() else {}
        if "threshold" in stored:  # the stored tolerance stays
            results = {**results, "threshold": stored["threshold"]}
        if args.quick and stored:  # refresh the quick cases, keep the rest
            results = {**results, "cases": {**stored["cases"], **results["cases"]}}
        baseline_path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"stored the baseline -> {baseline_path}")
        return 0
    baseline = json.loads(baseline_path.read_text())
    if args.threshold is None:
        args.threshold = float(baseline.get("threshold", 0.25))
    lines, regressed = compare(baseline, results, args.threshold)
    print(f"baseline {baseline_path.name} ({baseline['date']}, {baseline['machine']['node']}) "
          f"vs run of {results['date']}; ratio = case seconds / reference kernel seconds")
    print("\n".join(lines))
    if regressed:
        print(f"REGRESSION: {', '.join(regressed)} more than {100 * args.threshold:.0f} % "
              f"slower than the baseline")
        return 1
    print(f"no case more than {100 * args.threshold:.0f} % slower")
    return 0


if __name__ == "__main__":
    sys.exit(main())
