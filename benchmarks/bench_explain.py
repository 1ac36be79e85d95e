"""What explaining broken overlays costs (issue 11): `sync --check` naming the culprit of 5 broken
overlays across 2,000 upstream commits, against the same `sync --check --no-explain`.

    python benchmarks/bench_explain.py [--files 2000] [--commits 2000] [--broken 5] [--clean 5]
                                       [--repeat 5] [--json] [--keep]

Offline, in a temporary folder, with git sealed from the user's configuration (bench_sync.seal).
The upstream (one `git fast-import`): FILES generated modules at `rel-v1.0.0`, then COMMITS
commits, each inserting lines at the top of two random files, its subject ending with a PR
number (`(#N)`); BROKEN of them, spread over the history, rewrite the very line of one overlay
(a conflict); `rel-v1.1.0`. The app: BROKEN + CLEAN overlays (one function each, in files
that upstream also touches), captured with forkman. Timed, medians of REPEAT runs after one
warm-up: `forkman sync --check --no-fetch --to rel-v1.1.0` with and without `--no-explain`,
in wall seconds and in CPU seconds (user + sys of forkman and its git processes: the machine is
shared, so the CPU ratio is the steadier one).
Each explained run must name, for every broken overlay, the commit that broke it and its PR.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import FORKMAN, IDENTITY, git, machine, seal, upstream_files

OLD, NEW = "rel-v1.0.0", "rel-v1.1.0"
LIMIT = 1.5  # explained / not explained


def _blob(data: str) -> bytes:
    raw = data.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def _fork_line(text: str) -> tuple[int, str]:
    """The line an overlay changes in a module: the first `value = ...` of its third function."""
    lines = text.splitlines()
    hits = [i for i, ln in enumerate(lines) if ln.startswith("    value = x + ")]
    return hits[min(2, len(hits) - 1)], lines[hits[min(2, len(hits) - 1)]]


def build_upstream(dest: Path, files: dict[str, str], commits: int, targets: list[str],
                   clean: list[str], rng: random.Random) -> dict[str, int]:  # fmt: skip
    """Write the upstream; return the PR number of the commit that breaks each target file."""
    git(dest.parent, "init", "-q", "--bare", dest.name)
    who = f"{IDENTITY[0]} <{IDENTITY[1]}> 1735689600 +0000"
    out = [b"commit refs/heads/main\nmark :1\n", f"author {who}\ncommitter {who}\n".encode(),
           _blob("Release 1.0.0")]  # fmt: skip
    out += [b"M 100644 inline %s\n" % p.encode() + _blob(t) for p, t in files.items()]
    out.append(f"tag {OLD}\nfrom :1\ntagger {who}\n".encode() + _blob(f"Release {OLD}"))
    current = dict(files)
    spots = sorted(rng.sample(range(commits // 10, commits - 1), len(targets)))
    breaks = dict(zip(spots, targets, strict=True))
    others = [p for p in files if p not in targets and p not in clean]
    prs: dict[str, int] = {}
    for number in range(commits):
        mark = number + 2
        pr = 10000 + number
        if number in breaks:
            path = breaks[number]
            at, line = _fork_line(current[path])
            lines = current[path].splitlines(keepends=True)
            lines[at] = line.replace("value = x + ", "value = y + ") + "\n"
            current[path] = "".join(lines)
            changed = [path]
            subject = f"fix: the other operand ({'#'}{pr})"
            prs[path] = pr
        else:
            changed = rng.sample(others, 2) + ([rng.choice(clean)] if number % 50 == 0 else [])
            for path in changed:
                head, sep, tail = current[path].partition("import os\n")
                current[path] = head + sep + f"REVISION_{number} = {number}\n" + tail
            subject = f"chore: revision {number} ({'#'}{pr})"
        out += [f"commit refs/heads/main\nmark :{mark}\nauthor {who}\ncommitter {who}\n".encode(),
                _blob(subject), f"from :{mark - 1}\n".encode()]  # fmt: skip
        out += [b"M 100644 inline %s\n" % p.encode() + _blob(current[p]) for p in changed]
    out.append(f"tag {NEW}\nfrom :{commits + 1}\ntagger {who}\n".encode() + _blob(f"Release {NEW}"))
    git(dest, "fast-import", "--quiet", stdin=b"".join(out))
    return prs


def build_app(base: Path, upstream: Path, paths: list[str]) -> Path:
    from forkman.commands.capture import capture
    from forkman.store.project import open_project

    app = base / "app"
    app.mkdir(parents=True)
    git(app, "init", "-q")
    subprocess.run(
        [*FORKMAN, "init", "--upstream", str(upstream), "--ref", OLD, "--release-pattern",
         "rel-v*", "--path", "upstream/checkout"],
        cwd=app, check=True, capture_output=True,
    )  # fmt: skip
    project = open_project(app)
    for i, path in enumerate(paths):
        target = project.checkout / path
        at, line = _fork_line(target.read_text())
        lines = target.read_text().splitlines(keepends=True)
        lines[at] = line + f"  # fork {i}\n"
        target.write_text("".join(lines))
        capture(project, f"fork-{i:02d}", f"Fork change {i}", (path,))
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "overlays")
    return app


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + sys of forkman and its git processes), stdout."""
    start, cpu = time.perf_counter(), _child_cpu()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    took, used = time.perf_counter() - start, _child_cpu() - cpu
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr}")
    return took, used, proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--broken", type=int, default=5)
    parser.add_argument("--clean", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="forkman-bench-explain-"))
    try:
        seal(root / "home")
        rng = random.Random(11)
        files = upstream_files(args.files, rng)
        chosen = rng.sample(sorted(files), args.broken + args.clean)
        broken, clean = chosen[: args.broken], chosen[args.broken :]
        upstream = root / "upstream.git"
        prs = build_upstream(upstream, files, args.commits, broken, clean, rng)
        app = build_app(root, upstream, chosen)
        check = [*FORKMAN, "sync", "--check", "--json", "--no-fetch", "--to", NEW]
        times: dict[str, list[float]] = {"explained": [], "not explained": []}
        cpus: dict[str, list[float]] = {"explained": [], "not explained": []}
        named: dict[str, int | None] = {}
        for run in range(args.repeat + 1):
            for label, extra in (("explained", []), ("not explained", ["--no-explain"])):
                took, used, out = timed(check + extra, app)
                if run:
                    times[label].append(took)
                    cpus[label].append(used)
                if label == "explained":
                    report = json.loads(out)
                    named = {o["files"][0]: (o["culprit"] or {}).get("pr") for o in report["overlays"]
                             if o["state"] == "conflict"}  # fmt: skip
        right = named == prs
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = med["explained"] / med["not explained"]
        cpu = {k: statistics.median(v) for k, v in cpus.items()}
        cpu_ratio = cpu["explained"] / cpu["not explained"]
        result = {
            "machine": machine(),
            "files": args.files, "commits": args.commits, "broken": args.broken,
            "clean": args.clean, "repeat": args.repeat,
            "seconds": med, "ratio": ratio, "cpu_seconds": cpu, "cpu_ratio": cpu_ratio,
            "limit": LIMIT,
            "culprits_right": right, "pass": right and ratio < LIMIT,
        }  # fmt: skip
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(f"{args.broken} broken + {args.clean} clean overlays, {args.commits} upstream "
                  f"commits, {args.files} files; medians of {args.repeat}")  # fmt: skip
            for label, value in med.items():
                print(f"  sync --check, {label:<14} {value:.3f} s wall, {cpu[label]:.3f} s CPU")
            verdict = "PASS" if result["pass"] else "FAIL"
            print(f"  explained / not explained: {ratio:.2f} wall, {cpu_ratio:.2f} CPU "
                  f"(limit {LIMIT}) {verdict}")  # fmt: skip
            print(f"  every culprit named right (commit's PR): {right}")
        return 0 if result["pass"] else 1
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
