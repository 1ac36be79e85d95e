"""Time `forkman sync` against raw git doing the same work, on a generated AutoGPT-sized upstream.

    python benchmarks/bench_sync.py [--files 4000] [--overlays 3,200] [--repeat 3] [--json] [--keep]

Everything happens offline in a temporary folder (deleted unless --keep), with git sealed from the
user's configuration (GIT_CONFIG_NOSYSTEM=1, a temporary HOME, a fixed identity and fixed dates).

The upstream: FILES Python-ish modules (50-300 lines) in nested folders, release `rel-v1.0.0` in one
commit, then 200 commits that each insert a few lines at the top of two files (10% of the files
in all) and `rel-v1.1.0`. Each overlay edits one or two files lower down (every tenth overlay also
edits an earlier overlay's file); about half the overlays' files are among those upstream changed.
Setup (generation, `forkman init`, captures, copies) is not timed. Timed, each a whole command,
median of REPEAT runs on a fresh copy of the workspace:

  forkman sync        `forkman sync --to rel-v1.1.0 --no-fetch`
  rebase script       `git rebase --onto rel-v1.1.0 rel-v1.0.0 stack` (one commit per overlay;
                      the checkout included) then `git format-patch` of the stack
  git am -3           `git checkout --detach rel-v1.1.0` then `git am -3` of the overlay patches
  forkman sync --check / forkman overlay status, against
  git status + python start-up (`python -c "import git, typer, yaml"`)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD, NEW = "rel-v1.0.0", "rel-v1.1.0"
UPSTREAM_COMMITS = 200
IDENTITY = ("Forkman Bench", "bench@example.com")
FIXED_DATE = "2025-01-01T00:00:00+00:00"
FORKMAN = [sys.executable, "-m", "forkman"]
STARTUP = [sys.executable, "-c", "import git, typer, yaml"]
SYNC_LIMITS = (
    (200, 0.5),
    (0, 1.0),
)  # forkman sync / rebase script: at most this, from this many overlays on
STARTUP_LIMIT = 1.5  # sync --check and overlay status / (git status + python start-up)


# -- a sealed environment --------------------------------------------------------------------
def seal(home: Path) -> None:
    """Point this process (and every child) at a temporary HOME with a fixed identity."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        f"[user]\n\tname = {IDENTITY[0]}\n\temail = {IDENTITY[1]}\n[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n[advice]\n\tdetachedHead = false\n"
    )
    for var in [v for v in os.environ if v.startswith("GIT_")]:
        del os.environ[var]
    os.environ.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "GIT_AUTHOR_DATE": FIXED_DATE,
            "GIT_COMMITTER_DATE": FIXED_DATE,
            "GIT_EDITOR": "false",
            "GIT_TERMINAL_PROMPT": "0",
            "NO_COLOR": "1",
            "LC_ALL": "C",
            "PYTHONPATH": str(ROOT),
        }
    )


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False)
    if proc.returncode:
        raise RuntimeError(
            f"git {' '.join(args)} failed in {cwd}: {proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout.decode()


# -- the upstream ----------------------------------------------------------------------------
def module_text(rng: random.Random, path: str, spread: int = 99) -> str:
    """A module of 50-300 lines: a docstring, imports, then small functions with unique lines.

    SPREAD bounds the constants: a wide one makes a line that recurs in other files unlikely.
    """
    lines = [
        f'"""{path}: generated for the forkman benchmark."""',
        "from __future__ import annotations",
        "",
        "import os",
        "",
        "",
    ]
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    target = rng.randint(50, 300)
    index = 0
    while len(lines) < target:
        lines += [
            f"def {stem}_f{index}(x, y):",
            f'    """Step {index} of {stem}."""',
            f"    value = x + {index} * {rng.randint(2, spread)}",
            "    if value > y:",
            "        return value - y",
            "    return value * y",
            "",
            "",
        ]
        index += 1
    return "\n".join(lines) + "\n"


def upstream_files(count: int, rng: random.Random, spread: int = 99) -> dict[str, str]:
    tops = [
        "autogpt_platform/backend/backend",
        "autogpt_platform/frontend/src",
        "classic/original_autogpt",
        "classic/forge/forge",
        "docs/tools",
        "autogpt_platform/autogpt_libs/autogpt_libs",
    ]
    files = {}
    for n in range(count):
        top = tops[n % len(tops)]
        path = f"{top}/pkg{n % 37:02d}/sub{n % 11}/mod_{n:05d}.py"
        files[path] = module_text(rng, path, spread)
    return files


def upstream_change(text: str, commit: int) -> str:
    """Upstream's edit: lines inserted after `import os`, which moves everything below."""
    head, sep, tail = text.partition("import os\n")
    extra = f"import logging\n\nlog = logging.getLogger(__name__)\nREVISION_{commit} = {commit}\n"
    return head + sep + extra + tail


def _blob(data: str) -> bytes:
    raw = data.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def build_upstream(dest: Path, files: dict[str, str], changed: list[str]) -> None:
    """A bare repository: OLD in one commit, then UPSTREAM_COMMITS commits changing CHANGED, then NEW."""
    git(dest.parent, "init", "-q", "--bare", dest.name)
    who = f"{IDENTITY[0]} <{IDENTITY[1]}> 1735689600 +0000"
    out = [
        b"commit refs/heads/main\nmark :1\n",
        f"author {who}\ncommitter {who}\n".encode(),
        _blob("Release A"),
    ]
    out += [b"M 100644 inline %s\n" % p.encode() + _blob(t) for p, t in files.items()]
    out.append(f"tag {OLD}\nfrom :1\ntagger {who}\n".encode() + _blob(f"Release {OLD}"))
    per = max(1, len(changed) // UPSTREAM_COMMITS)
    commits = [changed[i : i + per] for i in range(0, len(changed), per)]
    for number, paths in enumerate(commits, 2):
        out += [
            f"commit refs/heads/main\nmark :{number}\nauthor {who}\ncommitter {who}\n".encode(),
            _blob(f"Upstream change {number}"),
            f"from :{number - 1}\n".encode(),
        ]
        out += [
            b"M 100644 inline %s\n" % p.encode() + _blob(upstream_change(files[p], number))
            for p in paths
        ]
    out.append(
        f"tag {NEW}\nfrom :{len(commits) + 1}\ntagger {who}\n".encode() + _blob(f"Release {NEW}")
    )
    git(dest, "fast-import", "--quiet", stdin=b"".join(out))


def plan_files(
    files: dict[str, str], max_overlays: int, rng: random.Random
) -> tuple[list[str], list[str]]:
    """The overlays' file pool (in order) and upstream's changed files: 10%, half the pool among them."""
    pool = list(files)
    rng.shuffle(pool)
    reserved = pool[: 2 * max_overlays]
    changed = reserved[::2]
    changed += pool[2 * max_overlays :][: max(0, len(files) // 10 - len(changed))]
    return pool, changed


def overlay_edit(text: str, name: str, where: float) -> str:
    """The fork's edit: a changed line and an added line in the function found at WHERE (0..1)."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines) if ln.startswith("def ")]
    at = starts[min(len(starts) - 1, max(1, int(len(starts) * where)))] + 2
    lines[at] = lines[at].rstrip("\n") + f"  # fork: {name}\n"
    lines.insert(at + 1, f"    value += len(os.sep)  # {name}\n")
    return "".join(lines)


# -- the workspace ---------------------------------------------------------------------------
def build_workspace(base: Path, upstream: Path, pool: list[str], count: int) -> Path:
    """BASE/app (forkman.yaml + COUNT captured overlays + checkout) and BASE/raw (a clone: stack branch)."""
    from forkman.commands.capture import capture
    from forkman.store.project import open_project

    app = base / "app"
    app.mkdir(parents=True)
    git(app, "init", "-q")
    run(
        [
            *FORKMAN,
            "init",
            "--upstream",
            str(upstream),
            "--ref",
            OLD,
            "--release-pattern",
            "rel-v*",
            "--path",
            "upstream/autogpt",
        ],
        app,
    )
    project = open_project(app)
    checkout = project.checkout
    for i in range(count):
        name = f"fork-{i:03d}"
        edits = [(pool[2 * i], 0.5)] + ([(pool[2 * i + 1], 0.4)] if i % 2 == 0 else [])
        if i % 10 == 9:
            edits.append((pool[2 * (i - 1)], 0.8))  # shares a file with the overlay before
        for path, where in edits:
            target = checkout / path
            target.write_text(overlay_edit(target.read_text(), name, where))
        capture(project, name, f"Fork change {i}", tuple(p for p, _ in edits))
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", f"Track the upstream with {count} overlays")
    raw = base / "raw"
    git(base, "clone", "-q", "--no-checkout", str(upstream), "raw")
    git(raw, "checkout", "-q", "-b", "stack", OLD)
    patches = base / "patches"
    patches.mkdir()
    for number, name in enumerate(project.series(), 1):
        shutil.copy(project.overlay_path(name), patches / f"{number:04d}-{name}.patch")
    git(raw, "am", "-q", *sorted(str(p) for p in patches.iterdir()))
    return base


def run(cmd: Sequence[str], cwd: Path, ok: Sequence[int] = (0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode not in ok:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} exited {proc.returncode} in {cwd}:\n"
            f"{proc.stdout.decode(errors='replace')}{proc.stderr.decode(errors='replace')}"
        )
    return took


def fresh_copy(pristine: Path, scratch: Path) -> Path:
    """A copy of the workspace with git's index stat data refreshed (cp changes inodes and ctimes)."""
    shutil.rmtree(scratch, ignore_errors=True)
    subprocess.run(["cp", "-a", str(pristine), str(scratch)], check=True)
    for repo in (scratch / "app", scratch / "app" / "upstream" / "autogpt", scratch / "raw"):
        subprocess.run(
            ["git", "update-index", "-q", "--refresh"], cwd=repo, capture_output=True, check=False
        )
    os.sync()  # the copy's write-back would otherwise land inside the next timed command
    return scratch


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def median_of(repeat: int, prepare: Callable[[], Path], timed: Callable[[Path], float]) -> float:
    return statistics.median(timed(prepare()) for _ in range(repeat))


def measure(pristine: Path, scratch: Path, repeat: int) -> tuple[dict[str, float], bool]:
    def prepare() -> Path:
        return fresh_copy(pristine, scratch)

    def app(w: Path) -> Path:
        return w / "app"

    rebase = sh(
        f"git rebase -q --onto {NEW} {OLD} stack && "
        f"git format-patch -q --zero-commit --no-signature -o ../out {NEW}..HEAD"
    )
    am = sh(f"git checkout -q --detach {NEW} && git am -q -3 ../patches/*.patch")
    times = {
        "forkman sync": median_of(
            repeat, prepare, lambda w: run([*FORKMAN, "sync", "--to", NEW, "--no-fetch"], app(w))
        ),
        "rebase script": median_of(repeat, prepare, lambda w: run(rebase, w / "raw")),
        "git am -3": median_of(repeat, prepare, lambda w: run(am, w / "raw")),
    }
    # read-only commands: one copy, REPEAT runs each
    work = prepare()
    checkout = work / "app" / "upstream" / "autogpt"
    for label, cmd, cwd in (
        (
            "forkman sync --check",
            [*FORKMAN, "sync", "--check", "--to", NEW, "--no-fetch"],
            work / "app",
        ),
        ("forkman overlay status", [*FORKMAN, "overlay", "status"], work / "app"),
        ("git status", ["git", "status"], checkout),
        ("python start-up", STARTUP, work / "app"),
    ):
        run(cmd, cwd)  # warm the page cache
        times[label] = statistics.median(run(cmd, cwd) for _ in range(repeat))
    times["git status + python"] = times["git status"] + times["python start-up"]
    return times, results_agree(pristine, scratch)


def results_agree(pristine: Path, scratch: Path) -> bool:
    """forkman's synced checkout and the rebased clone hold the same bytes in every file."""
    work = fresh_copy(pristine, scratch)
    run([*FORKMAN, "sync", "--to", NEW, "--no-fetch"], work / "app")
    run(sh(f"git rebase -q --onto {NEW} {OLD} stack"), work / "raw")
    forkman_tree = git(work / "app" / "upstream" / "autogpt", "diff", NEW)
    rebase_tree = git(work / "raw", "diff", NEW, "HEAD")
    return forkman_tree == rebase_tree and bool(rebase_tree)


# -- the report ------------------------------------------------------------------------------
def machine() -> dict[str, str | int]:
    return {
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count() or 0,
        "git": git(Path.cwd(), "--version").strip(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def ratio_rows(times: dict[str, float]) -> dict[str, float]:
    return {
        "forkman sync / rebase script": times["forkman sync"] / times["rebase script"],
        "forkman sync / git am -3": times["forkman sync"] / times["git am -3"],
        "sync --check / (git status + python)": times["forkman sync --check"]
        / times["git status + python"],
        "overlay status / (git status + python)": times["forkman overlay status"]
        / times["git status + python"],
    }


def verdicts(runs: dict[int, dict[str, float]]) -> list[dict[str, object]]:
    out = []
    for n, times in sorted(runs.items()):
        limit = next(lim for least, lim in SYNC_LIMITS if n >= least)
        pairs = [
            (f"sync vs rebase script, {n} overlays", "forkman sync", "rebase script", limit),
            (
                f"sync --check vs git status + python, {n} overlays",
                "forkman sync --check",
                "git status + python",
                STARTUP_LIMIT,
            ),
            (
                f"overlay status vs git status + python, {n} overlays",
                "forkman overlay status",
                "git status + python",
                STARTUP_LIMIT,
            ),
        ]
        for label, mine, ref, lim in pairs:
            ratio = times[mine] / times[ref]
            out.append(
                {"target": label, "ratio": round(ratio, 3), "limit": lim, "pass": ratio <= lim}
            )
    return out


def text_report(
    info: dict, runs: dict[int, dict[str, float]], agree: dict[int, bool], checks: list
) -> str:  # type: ignore[type-arg]
    counts = sorted(runs)
    lines = [
        (
            f"{info['files']} files, {UPSTREAM_COMMITS} upstream commits {OLD} -> {NEW}, "
            f"median of {info['repeat']}; {info['machine']['cores']} cores, {info['machine']['git']}, "
            f"Python {info['machine']['python']}, {info['machine']['date']}"
        ),
        "",
    ]
    head = "| seconds | " + " | ".join(f"{n} overlays" for n in counts) + " |"
    lines += [head, "|---" * (len(counts) + 1) + "|"]
    for label in runs[counts[0]]:
        lines.append(f"| {label} | " + " | ".join(f"{runs[n][label]:.3f}" for n in counts) + " |")
    lines += [
        "",
        "| ratio | " + " | ".join(f"{n} overlays" for n in counts) + " |",
        "|---" * (len(counts) + 1) + "|",
    ]
    for label in ratio_rows(runs[counts[0]]):
        lines.append(
            f"| {label} | " + " | ".join(f"{ratio_rows(runs[n])[label]:.2f}" for n in counts) + " |"
        )
    lines += ["", "| target | ratio | limit | |", "|---|---|---|---|"]
    for c in checks:
        lines.append(
            f"| {c['target']} | {c['ratio']:.2f} | {c['limit']} | {'PASS' if c['pass'] else 'FAIL'} |"
        )
    lines += [
        "",
        "forkman's synced checkout equals the rebased clone's: "
        + ", ".join(f"{n} overlays {'yes' if agree[n] else 'NO'}" for n in counts),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=4000)
    parser.add_argument("--overlays", default="3,200", help="comma-separated overlay counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of tables")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (its path goes to stderr)"
    )
    args = parser.parse_args(argv)
    counts = sorted({int(n) for n in args.overlays.split(",")})
    if max(counts) * 2 > args.files // 2:
        parser.error("too many overlays for this many files")
    tmp = Path(tempfile.mkdtemp(prefix="forkman-bench-"))
    try:
        seal(tmp / "home")
        sys.path.insert(0, str(ROOT))
        rng = random.Random(20250101)
        files = upstream_files(args.files, rng)
        pool, changed = plan_files(files, max(counts), rng)
        upstream = tmp / "autogpt.git"
        build_upstream(upstream, files, changed)
        runs: dict[int, dict[str, float]] = {}
        agree: dict[int, bool] = {}
        for count in counts:
            pristine = build_workspace(tmp / f"ws-{count}", upstream, pool, count)
            runs[count], agree[count] = measure(pristine, tmp / "scratch", args.repeat)
            print(f"measured {count} overlays", file=sys.stderr)
        info = {
            "files": args.files,
            "upstream_commits": UPSTREAM_COMMITS,
            "repeat": args.repeat,
            "machine": machine(),
        }
        checks = verdicts(runs)
        if args.json:
            print(
                json.dumps(
                    {
                        **info,
                        "seconds": {str(n): runs[n] for n in counts},
                        "ratios": {str(n): ratio_rows(runs[n]) for n in counts},
                        "targets": checks,
                        "results_agree": {str(n): agree[n] for n in counts},
                    },
                    indent=1,
                )
            )
        else:
            print(text_report(info, runs, agree, checks))
        return 0 if all(c["pass"] for c in checks) and all(agree.values()) else 1
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
