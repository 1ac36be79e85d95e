"""Speed at scale (issue 14): forkman's everyday commands and sync against raw git, over a grid.

    python benchmarks/bench_scale.py [--quick] [--files 4000,40000,150000] [--overlays 10,200,1000]
                                     [--commits 50,2000] [--repeat 3] [--reference-runs auto]
                                     [--no-stops] [--json FILE] [--keep]

One command does everything, offline, in a temporary folder (deleted unless --keep) with git
sealed from the user's configuration (bench_sync.seal):

- Upstreams, one per (files, commits), deterministic (seeded), written with one `git fast-import`:
  FILES Python-like modules in nested folders at `rel-v1.0.0`; COMMITS upstream commits touching
  about 10% of the files (lines inserted at the top, functions appended, lines changed, files
  added and deleted; hot files touched many times), some edits two lines from an overlay's lines
  (they merge, the overlay's context moves), some making an overlay's change themselves (whole:
  upstreamed, or in one of its two files: partly upstreamed); `rel-v1.1.0`. Then `rel-v1.2.0`:
  one more commit per hundred overlays that changes an overlay's own line (a conflict).
- Per overlay count, the app repo: `forkman init` adopting a clone at `rel-v1.0.0`, the first
  overlays captured with `forkman overlay capture`, the rest written by forkman's own capture
  code in one batch (the same diff engine, checked byte for byte against the captured ones),
  then `forkman overlay status --json` must say every overlay is applied and nothing else is
  edited. The raw-git equivalent: a clone with branch `stack`, one commit per overlay.

Timed (wall and CPU of the whole process tree, peak RSS from wait4, medians of REPEAT runs
after one untimed warm-up; read-only commands alternate on one copy, the others alternate on a
fresh hard-linked copy per round):

  overlay status / apply (nothing to do) / guard / sync --check        in the app repo
  sync                `forkman sync --to rel-v1.1.0 --no-fetch`
  git status          in the checkout, and python start-up (`import git, typer, yaml`)
  floor               `git checkout --detach rel-v1.1.0 && git status` in the raw clone at `stack`
  git rebase          `git rebase --onto rel-v1.1.0 rel-v1.0.0 stack`
  stops               `forkman sync --to rel-v1.2.0` then `--skip` at each stop, against
                      `git rebase` then `--skip` at each stop (one run, after the medians)

git rebase, the slow reference (over 3 minutes at 150,000 files and 1,000 overlays, while
forkman's sync takes 20 s), is the one exception, set by --reference-runs: `full` gives it the
same protocol; N runs it N times in all, its warm-up run (the one that also counts its git
processes and gives the tree to compare) timed as well; `auto`, the default, is `full` unless
the warm-up took longer than SLOW_REFERENCE_S (60 s), and then that one run is its time (the
run says so in its notes). forkman's commands, the floor, git status and python start-up always
get the full protocol, and the stops are one run of each tool either way.

git processes are counted in the warm-up run by a `git` shim put first on PATH (only there), so
the timed runs pay nothing for counting. After each sync the checkout's tree must equal the
rebased clone's (also after the stops); any difference fails the run. Python's start-up is
measured with `-X importtime` for `forkman --version` and `forkman overlay status`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import (
    IDENTITY,
    ROOT,
    git,
    machine,
    module_text,
    seal,
    sh,
    upstream_change,
    upstream_files,
)

OLD, NEW, CONFLICTED = "rel-v1.0.0", "rel-v1.1.0", "rel-v1.2.0"
SEED = 20261201
PLANNED_OVERLAYS = 1000  # the upstream is planned for this many, so it never depends on the grid
CHANGED_SHARE = 0.10
SPREAD = 10**9  # constants in the generated code: an overlay's line recurs nowhere else
WHO = f"{IDENTITY[0]} <{IDENTITY[1]}> 1735689600 +0000"
FORKMAN = [sys.executable, "-m", "forkman"]
STARTUP = [sys.executable, "-c", "import git, typer, yaml"]
BARE = [sys.executable, "-c", "pass"]
CHECKOUT = "upstream/src"
TIME = "/usr/bin/time"  # GNU time, for the peak RSS of a command's process tree
CAPTURED_BY_CLI = 3  # the first overlays go through `forkman overlay capture` itself
FULL = {"files": (4000, 40000, 150000), "overlays": (10, 200, 1000), "commits": (50, 2000)}
QUICK = {"files": (4000,), "overlays": (10, 200, 1000), "commits": (50, 2000)}
LIMITS = {  # target: (command, reference, at most this many times the reference)
    "overlay status": ("overlay status", "git status + python", 1.5),
    "apply (nothing to do)": ("apply (nothing to do)", "git status + python", 1.5),
    "guard": ("guard", "git status + python", 1.5),
    "sync --check": ("sync --check", "git status + python", 3.0),
    "sync": ("sync", "floor", 1.5),
}
MEMORY_LIMIT_MB = 500
# A reference this slow is timed once (--reference-runs auto): repeating it would not make a
# three-minute git rebase a better yardstick, only the run hours longer.
SLOW_REFERENCE_S = 60
VERSION_SLACK = 0.020  # forkman --version within 2x python -c pass plus this


# -- the upstream plan -----------------------------------------------------------------------
def stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".py")


def def_line(text: str, path: str, function: int) -> int:
    """The index of `def STEM_fN(x, y):` in TEXT's lines."""
    lines = text.splitlines()
    return lines.index(f"def {stem(path)}_f{function}(x, y):")


def function_at(text: str, where: float) -> int:
    count = text.count("\ndef ")
    return min(count - 1, max(1, int(count * where)))


def fork_edit(text: str, path: str, function: int, name: str) -> str:
    """The fork's change: a changed line and an added line, two lines into FUNCTION."""
    lines = text.splitlines(keepends=True)
    at = def_line(text, path, function) + 2
    lines[at] = lines[at].rstrip("\n") + f"  # fork: {name}\n"
    lines.insert(at + 1, f"    value += len(os.sep)  # {name}\n")
    return "".join(lines)


def near_edit(text: str, path: str, function: int, commit: int) -> str:
    """Upstream changes FUNCTION's last line, two lines below the fork's: it merges, context moves."""
    lines = text.splitlines(keepends=True)
    at = def_line(text, path, function) + 5
    assert lines[at] == "    return value * y\n", (path, function, lines[at])
    lines[at] = f"    return value * y + {commit}\n"
    return "".join(lines)


def conflict_edit(text: str, path: str, function: int, commit: int) -> str:
    """Upstream changes the very line the fork changes."""
    lines = text.splitlines(keepends=True)
    at = def_line(text, path, function) + 2
    lines[at] = lines[at].rstrip("\n") + f" + {commit}\n"
    return "".join(lines)


def append_edit(text: str, path: str, commit: int) -> str:
    return text + (
        f"\n\ndef {stem(path)}_u{commit}(x, y):\n"
        f'    """Added upstream in change {commit}."""\n'
        f"    return x * {commit} - y\n"
    )


def tweak_edit(text: str, path: str, rng: random.Random) -> str:
    """Upstream changes one function's constant (only in files no overlay edits)."""
    lines = text.splitlines(keepends=True)
    spots = [i for i, ln in enumerate(lines) if ln.startswith("    value = x + ")]
    at = rng.choice(spots)
    lines[at] = lines[at].rstrip("\n") + f" + {rng.randint(1, 9)}\n"
    return "".join(lines)


Touch = tuple[str, str, Any]  # (kind, path, argument) of one upstream edit


@dataclass(frozen=True)
class OverlayPlan:
    name: str
    subject: str
    edits: tuple[tuple[str, int], ...]  # (path, function) in series order


@dataclass
class Upstream:
    files: dict[str, str]
    overlays: list[OverlayPlan]
    pool: list[str]
    expected: dict[str, str] = field(default_factory=dict)  # overlay name -> what upstream did


def plan_overlays(files: dict[str, str], rng: random.Random) -> tuple[list[OverlayPlan], list[str]]:
    """PLANNED_OVERLAYS overlays over a shuffled pool: 1-2 files each, every tenth shares a file."""
    count = min(PLANNED_OVERLAYS, len(files) // 4)
    pool = sorted(files)
    rng.shuffle(pool)
    plans = []
    for i in range(count):
        wanted = [(pool[2 * i], 0.5)] + ([(pool[2 * i + 1], 0.4)] if i % 2 == 0 else [])
        if i % 10 == 9:
            wanted.append((pool[2 * (i - 1)], 0.8))  # a file the overlay before also changes
        edits = tuple((p, function_at(files[p], where)) for p, where in wanted)
        plans.append(OverlayPlan(f"fork-{i:04d}", f"Fork change {i}", edits))
    return plans, pool


def fork_contents(files: dict[str, str], plans: Sequence[OverlayPlan]) -> list[dict[str, str]]:
    """Each overlay's files after it, applied in series order on the release."""
    current: dict[str, str] = {}
    out = []
    for plan in plans:
        after: dict[str, str] = {}
        for path, function in plan.edits:
            text = after.get(path, current.get(path, files[path]))
            after[path] = fork_edit(text, path, function, plan.name)
        current.update(after)
        out.append(after)
    return out


def plan_upstream(file_count: int, seed: int) -> Upstream:
    rng = random.Random(f"{seed}-{file_count}")
    files = upstream_files(file_count, rng, SPREAD)
    plans, pool = plan_overlays(files, rng)
    return Upstream(files, plans, pool)


def release_touches(up: Upstream, commits: int, rng: random.Random) -> list[list[Touch]]:
    """What each of COMMITS upstream commits does, as (kind, path, argument) touches."""
    n = len(up.overlays)
    overlay_files = set(up.pool[: 2 * n])
    moved = up.pool[0 : 2 * n : 4]  # the first file of every other overlay changes upstream
    others = [p for p in sorted(up.files) if p not in overlay_files]
    rng.shuffle(others)
    wanted = max(len(moved), int(len(up.files) * CHANGED_SHARE))
    changed = moved + others[: wanted - len(moved)]
    deleted = others[wanted : wanted + max(1, len(up.files) // 500)]
    hot = changed[: max(1, len(changed) // 10)]
    touches: list[Touch] = [("edit", p, None) for p in changed]
    touches += [
        ("edit", rng.choice(hot) if rng.random() < 0.5 else rng.choice(changed), None)
        for _ in range(max(0, 3 * commits - len(changed)))
    ]
    touches += [("delete", p, None) for p in deleted]
    folders = sorted({p.rsplit("/", 1)[0] for p in up.files})
    touches += [
        ("add", f"{rng.choice(folders)}/new_{k:05d}.py", None)
        for k in range(max(1, len(up.files) // 100))
    ]
    for i, plan in enumerate(up.overlays):
        if i % 20 in (1, 11):
            path, function = plan.edits[0]
            touches.append(("near", path, function))
            up.expected[plan.name] = "near"
        elif i % 20 == 7:
            touches += [("fork", path, (function, plan.name)) for path, function in plan.edits]
            up.expected[plan.name] = "upstreamed"
        elif i % 20 == 12:
            path, function = plan.edits[1]
            touches.append(("fork", path, (function, plan.name)))
            up.expected[plan.name] = "partly-upstreamed"
    rng.shuffle(touches)
    size = len(touches) / commits
    return [touches[int(c * size) : int((c + 1) * size)] for c in range(commits)]


def apply_touch(
    text: str | None,
    kind: str,
    path: str,
    arg: Any,
    commit: int,
    protected: set[str],
    rng: random.Random,
) -> str | None:
    if kind == "delete":
        return None
    if kind == "add":
        return module_text(rng, path, SPREAD)
    assert text is not None, (kind, path)
    if kind == "near":
        return near_edit(text, path, int(arg), commit)
    if kind == "fork":
        function, name = arg
        return fork_edit(text, path, function, name)
    if kind == "conflict":
        return conflict_edit(text, path, int(arg), commit)
    choice = rng.random()
    if choice < 0.5:
        return upstream_change(text, commit)
    if choice < 0.8 or path in protected:
        return append_edit(text, path, commit)
    return tweak_edit(text, path, rng)


def _data(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return b"data %d\n" % len(raw) + raw + b"\n"


def _modify(path: str, text: str | None) -> bytes:
    if text is None:
        return b"D %s\n" % path.encode()
    return b"M 100644 inline %s\n" % path.encode() + _data(text)


def build_upstream(dest: Path, up: Upstream, commits: int, seed: int) -> None:
    """The bare upstream: OLD, COMMITS commits, NEW, then one conflicting commit per 100 overlays."""
    rng = random.Random(f"{seed}-{len(up.files)}-{commits}")
    git(dest.parent, "init", "-q", "--bare", dest.name)
    protected = set(up.pool[: 2 * len(up.overlays)])
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet"],
        cwd=dest,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    out = proc.stdin

    def commit(mark: int, message: str, parent: int | None, changes: Iterable[bytes]) -> None:
        out.write(f"commit refs/heads/main\nmark :{mark}\nauthor {WHO}\ncommitter {WHO}\n".encode())
        out.write(_data(message))
        if parent is not None:
            out.write(f"from :{parent}\n".encode())
        for change in changes:
            out.write(change)

    def tag(name: str, mark: int) -> None:
        out.write(f"tag {name}\nfrom :{mark}\ntagger {WHO}\n".encode() + _data(f"Release {name}"))

    commit(1, "Release 1.0.0", None, (_modify(p, t) for p, t in up.files.items()))
    tag(OLD, 1)
    current: dict[str, str | None] = {}
    mark = 1
    for touches in release_touches(up, commits, rng):
        mark += 1
        changed: dict[str, str | None] = {}
        for kind, path, arg in touches:
            text = changed[path] if path in changed else current.get(path, up.files.get(path))
            changed[path] = apply_touch(text, kind, path, arg, mark, protected, rng)
        current.update(changed)
        commit(
            mark, f"Upstream change {mark}", mark - 1, (_modify(p, t) for p, t in changed.items())
        )
    tag(NEW, mark)
    for i, plan in enumerate(up.overlays):
        if i % 100 == 5:
            path, function = plan.edits[0]
            text = current.get(path, up.files[path])
            assert text is not None
            current[path] = conflict_edit(text, path, function, mark + 1)
            mark += 1
            commit(mark, f"Upstream change {mark}", mark - 1, [_modify(path, current[path])])
            up.expected.setdefault(plan.name, "conflict")
    tag(CONFLICTED, mark)
    out.close()
    if proc.wait():
        raise RuntimeError("git fast-import failed")


# -- workspaces: hard-linked copies ----------------------------------------------------------
GIT_DIRS = ("app/.git", f"app/{CHECKOUT}/.git", "raw/.git")


def link_copy(src: Path, dst: Path) -> None:
    """DST: SRC with every work-tree file and git object hard-linked, git's other files copied.

    Fast at 150,000 files. Safe because git and forkman replace files (new inode) instead of
    writing into them; the pristine work trees are read-only, so an in-place write fails loudly.
    """
    subprocess.run(["cp", "-al", str(src), str(dst)], check=True)
    for rel in GIT_DIRS:
        if (dst / rel).is_dir():
            _real_git_dir((src / rel).parent, (dst / rel).parent)


def refresh(repo: Path) -> None:
    """Bring the index's stat data up to date (new links change ctimes) outside the timing."""
    subprocess.run(
        ["git", "update-index", "-q", "--refresh"], cwd=repo, capture_output=True, check=False
    )


def freeze(tree: Path) -> None:
    """Make a pristine work tree's files read-only (not .git, not folders)."""
    for folder, dirs, names in os.walk(tree):
        if ".git" in dirs:
            dirs.remove(".git")
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o444)


def replace_file(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".bench-tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# -- the app repo and the raw clone ----------------------------------------------------------
def _api() -> Any:
    """forkman's own capture code: the overlay model, the diff engine, the app repo."""
    from forkman.core import overlay as ov
    from forkman.core.values import FileState
    from forkman.git.diff import diff_many
    from forkman.store.project import open_project

    return ov, diff_many, FileState, open_project


def build_workspace(ws: Path, base: Path, upstream: Path, up: Upstream, count: int) -> None:
    """WS/app (COUNT overlays, checkout at OLD + overlays) and WS/raw (branch `stack`)."""
    ov, diff_many, FileState, open_project = _api()
    ws.mkdir(parents=True)
    app = ws / "app"
    app.mkdir()
    git(app, "init", "-q")
    (app / CHECKOUT).parent.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(base), str(app / CHECKOUT)], check=True)
    _real_git_dir(base, app / CHECKOUT)
    call(
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
            CHECKOUT,
        ],
        app,
    )
    plans = up.overlays[:count]
    afters = fork_contents(up.files, plans)
    checkout = app / CHECKOUT
    current: dict[str, str] = {}
    batch = []
    for i, (plan, after) in enumerate(zip(plans, afters, strict=False)):
        before = {p: current.get(p, up.files[p]) for p in after}
        for path, text in after.items():
            replace_file(checkout / path, text)
        current.update(after)
        if i < CAPTURED_BY_CLI:
            call([*FORKMAN, "overlay", "capture", plan.name, "-m", plan.subject, *after], app)
        batch.append((plan, before, after))
    project = open_project(app)
    author = git(app, "var", "GIT_AUTHOR_IDENT").strip().rsplit(" ", 2)[0]

    def state(text: str) -> Any:
        return FileState(text.encode(), "100644")

    diffs = diff_many(
        [
            ({p: state(t) for p, t in b.items()}, {p: state(t) for p, t in a.items()})
            for _, b, a in batch
        ]
    )
    overlays = [
        ov.Overlay(plan.name, plan.subject, "", author, (("Forwarded", "no"),), diff)
        for (plan, _, _), diff in zip(batch, diffs, strict=False)
    ]
    for overlay in overlays[:CAPTURED_BY_CLI]:
        if ov.render(overlay) != project.overlay_text(overlay.name):
            raise RuntimeError(f"the batch capture of {overlay.name} differs from forkman's")
    hashes = dict(project.lock().overlays)
    for overlay in overlays[CAPTURED_BY_CLI:]:
        hashes[overlay.name] = project.write_overlay(overlay)
    project.write_series([p.name for p in plans])
    project.write_lock(project.lock().with_overlays(hashes))
    report = json.loads(capture_out([*FORKMAN, "overlay", "status", "--json"], app))
    states = {o["state"] for o in report["overlays"]}
    if states != {"applied"} or report["uncaptured"] or len(report["overlays"]) != count:
        raise RuntimeError(
            f"the app repo is not clean after building it: {states}, {report['uncaptured'][:5]}"
        )
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", f"Track the upstream with {count} overlays")
    raw = ws / "raw"
    subprocess.run(["cp", "-al", str(base), str(raw)], check=True)
    _real_git_dir(base, raw)
    build_stack(raw, plans, afters)
    freeze(app / CHECKOUT)
    freeze(raw)
    refresh(app / CHECKOUT)
    refresh(raw)


def _real_git_dir(src: Path, dst: Path) -> None:
    """After `cp -al SRC DST`: DST/.git's own files copied for real (objects stay linked)."""
    for entry in (dst / ".git").iterdir():
        if entry.name == "objects":
            continue
        real = src / ".git" / entry.name
        if entry.is_dir():
            shutil.rmtree(entry)
            shutil.copytree(real, entry, symlinks=True)
        else:
            entry.unlink()
            shutil.copy2(real, entry)
    refresh(dst)


def build_stack(raw: Path, plans: Sequence[OverlayPlan], afters: Sequence[dict[str, str]]) -> None:
    """Branch `stack` in RAW: one commit per overlay on OLD (fast-import), checked out."""
    old = git(raw, "rev-parse", f"{OLD}^{{commit}}").strip()
    out = [f"reset refs/heads/stack\nfrom {old}\n".encode()]
    for plan, after in zip(plans, afters, strict=False):
        out.append(f"commit refs/heads/stack\nauthor {WHO}\ncommitter {WHO}\n".encode())
        out.append(_data(plan.subject))
        out += [_modify(p, t) for p, t in after.items()]
    git(raw, "fast-import", "--quiet", stdin=b"".join(out))
    git(raw, "checkout", "-q", "stack")


# -- running and timing ----------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    code: int


def call(
    cmd: Sequence[str], cwd: Path, ok: Sequence[int] = (0,), env: dict[str, str] | None = None
) -> Sample:
    """Run CMD; wall time and CPU of its whole process tree (wait4), peak RSS, exit code.

    The peak RSS comes from /usr/bin/time: a child forked by this (large) process starts with
    its parent's RSS as its high-water mark, one forked by `time` does not.
    """
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [TIME, "-q", "-f", "%M", "-o", rss.name, *cmd],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            out.seek(0)
            raise RuntimeError(
                f"{' '.join(map(str, cmd))} exited {code} in {cwd}:\n"
                f"{out.read().decode(errors='replace')[-3000:]}"
            )
        peak_kb = int(rss.read().split()[-1])
    return Sample(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, code)


def capture_out(cmd: Sequence[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc.stdout.decode()


class GitCounter:
    """A `git` shim first on PATH that counts its invocations, for untimed runs only."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.count_file = folder / "count"
        real = shutil.which("git")
        shim = folder / "git"
        shim.write_text(f'#!/bin/sh\nprintf x >> "{self.count_file}"\nexec {real} "$@"\n')
        shim.chmod(0o755)
        self.env = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}

    def run(self, cmd: Sequence[str], cwd: Path, ok: Sequence[int] = (0,)) -> tuple[Sample, int]:
        self.count_file.write_text("")
        sample = call(cmd, cwd, ok, env=self.env)
        return sample, len(self.count_file.read_text())


@dataclass
class Measured:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    git_processes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    agree: bool = True
    stops: dict[str, float] = field(default_factory=dict)

    def add(self, label: str, sample: Sample) -> None:
        self.samples.setdefault(label, []).append(sample)

    def median(self, label: str, what: str = "wall") -> float:
        if label == "git status + python":
            return self.median("git status", what) + self.median("python start-up", what)
        return float(statistics.median(getattr(s, what) for s in self.samples[label]))

    def peak(self, label: str) -> float:
        return max(s.rss_mb for s in self.samples[label])


def tree_of_checkout(checkout: Path) -> str:
    """The tree the checkout's files make (untracked included), through a scratch index."""
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        shutil.copy(checkout / ".git" / "index", index)
        env = {**os.environ, "GIT_INDEX_FILE": str(index)}
        subprocess.run(["git", "add", "-A"], cwd=checkout, env=env, check=True)
        return subprocess.run(
            ["git", "write-tree"], cwd=checkout, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()


def tree_paths(repo: Path, tree: str) -> dict[str, str]:
    listing = git(repo, "ls-tree", "-r", "-z", tree)
    return {rec.split("\t", 1)[1]: rec.split("\t", 1)[0] for rec in listing.split("\0") if rec}


def same_tree(checkout: Path, raw: Path, what: str, measured: Measured) -> None:
    mine, theirs = tree_of_checkout(checkout), git(raw, "rev-parse", "HEAD^{tree}").strip()
    if mine != theirs:
        a, b = tree_paths(checkout, mine), tree_paths(raw, theirs)
        differ = sorted(p for p in a.keys() | b.keys() if a.get(p) != b.get(p))
        measured.agree = False
        measured.notes.append(
            f"{what}: forkman's tree differs from git rebase's in {len(differ)} files: "
            + ", ".join(differ[:10])
        )


def measure(
    ws: Path,
    scratch: Path,
    repeat: int,
    counter: GitCounter,
    stops: bool,
    reference_runs: int | None = None,
    reference_auto: bool = False,
) -> Measured:
    """Every command's samples on WS. git rebase, the slow reference: REFERENCE_RUNS runs in
    all when given (the first, also the process count and the tree check, timed as well),
    else a warm-up plus REPEAT; REFERENCE_AUTO, one run when its warm-up took longer than
    SLOW_REFERENCE_S. forkman's commands, the floor and git status always get the full protocol."""
    m = Measured()
    app, checkout = "app", f"app/{CHECKOUT}"
    readonly = [
        ("overlay status", [*FORKMAN, "overlay", "status"], app, (0, 1)),
        ("apply (nothing to do)", [*FORKMAN, "apply"], app, (0,)),
        ("guard", [*FORKMAN, "guard"], app, (0,)),
        ("sync --check", [*FORKMAN, "sync", "--check", "--to", NEW, "--no-fetch"], app, (0,)),
        ("git status", ["git", "status"], checkout, (0,)),
        ("python start-up", STARTUP, app, (0,)),
        ("python -c pass", BARE, app, (0,)),
    ]
    copy = scratch / "ro"
    shutil.rmtree(copy, ignore_errors=True)
    link_copy(ws, copy)
    for round_ in range(repeat + 1):
        for label, cmd, cwd, ok in readonly:
            if label == "sync --check":
                forget_answers(copy / checkout)  # each run cold, as the first after a release
            if round_ == 0:
                _, m.git_processes[label] = counter.run(cmd, copy / cwd, ok)
            else:
                m.add(label, call(cmd, copy / cwd, ok))
    shutil.rmtree(copy)
    measure_writes(ws, scratch, repeat, counter, m, reference_runs, reference_auto)
    shutil.rmtree(scratch / "rw", ignore_errors=True)
    if stops:
        m.stops = measure_stops(ws, scratch / "stops", m)
    return m


def measure_writes(
    ws: Path,
    scratch: Path,
    repeat: int,
    counter: GitCounter,
    m: Measured,
    reference_runs: int | None,
    reference_auto: bool,
) -> None:
    """sync, the floor and git rebase, alternating, each round on a fresh copy of WS."""
    app, raw = "app", "raw"
    checkout = f"app/{CHECKOUT}"
    sync = [*FORKMAN, "sync", "--to", NEW, "--no-fetch"]
    floor = sh(f"git checkout -q --detach {NEW} && git status >/dev/null")
    rebase = ["git", "rebase", "-q", "--onto", NEW, OLD, "stack"]
    # git rebase's runs: None, the full protocol; N, N runs in all, the warm-up's timed too
    rebases = reference_runs
    for round_ in range(repeat + 1):
        copy = scratch / "rw"
        shutil.rmtree(copy, ignore_errors=True)
        link_copy(ws, copy)
        for label, cmd, cwd, after in (
            ("sync", sync, app, None),
            ("floor", floor, raw, ["git", "checkout", "-q", "-f", "stack"]),
            ("git rebase", rebase, raw, None),
        ):
            if label == "git rebase" and rebases is not None and round_ >= rebases:
                continue
            refresh(copy / cwd if cwd == raw else copy / checkout)
            if round_ == 0:
                sample, m.git_processes[label] = counter.run(cmd, copy / cwd)
                if label == "git rebase":
                    if rebases is None and reference_auto and sample.wall > SLOW_REFERENCE_S:
                        rebases = 1
                        m.notes.append(
                            f"git rebase took {sample.wall:.0f} s (over {SLOW_REFERENCE_S} s): "
                            "timed once, in its warm-up run"
                        )
                    if rebases is not None:
                        m.add(label, sample)
            else:
                m.add(label, call(cmd, copy / cwd))
            if after:
                subprocess.run(after, cwd=copy / cwd, check=True)
        if round_ == 0:
            same_tree(copy / checkout, copy / raw, f"sync to {NEW}", m)


def forget_answers(checkout: Path) -> None:
    """The answers sync keeps across runs (compile checks, culprits) removed from CHECKOUT's
    git dir: a timed `sync --check` is then what the first one after a release costs."""
    for name in ("forkman-compiled.json", "forkman-culprits.json"):
        (checkout / ".git" / name).unlink(missing_ok=True)


def measure_stops(ws: Path, copy: Path, m: Measured) -> dict[str, float]:
    """sync to CONFLICTED with --skip at every stop, against git rebase with --skip: one run
    (wall and CPU summed over the commands)."""
    link_copy(ws, copy)
    app, raw = copy / "app", copy / "raw"
    result: dict[str, float] = {}

    def series(
        first: list[str], then: list[str], cwd: Path, ok: tuple[int, ...]
    ) -> tuple[float, float, int]:
        sample = call(first, cwd, ok)
        wall, cpu, count = sample.wall, sample.cpu, 0
        while sample.code:
            count += 1
            sample = call(then, cwd, ok)
            wall, cpu = wall + sample.wall, cpu + sample.cpu
            if count > 1000:
                raise RuntimeError(f"{' '.join(then)} does not finish")
        return wall, cpu, count

    wall, cpu, count = series(
        [*FORKMAN, "sync", "--to", CONFLICTED, "--no-fetch"],
        [*FORKMAN, "sync", "--skip"],
        app,
        (0, 1),
    )
    result["forkman sync + --skip"], result["forkman cpu"], result["forkman stops"] = (
        wall,
        cpu,
        count,
    )
    wall, cpu, count = series(
        ["git", "rebase", "-q", "--onto", CONFLICTED, OLD, "stack"],
        ["git", "rebase", "--skip"],
        raw,
        (0, 1, 128),
    )
    result["git rebase + --skip"], result["rebase cpu"], result["rebase stops"] = wall, cpu, count
    same_tree(app / CHECKOUT, raw, f"sync to {CONFLICTED} with --skip", m)
    shutil.rmtree(copy)
    return result


# -- start-up --------------------------------------------------------------------------------
WATCHED = ("typer", "click", "rich", "git", "unidiff", "yaml", "pydantic", "packaging")


def import_profile(cmd: Sequence[str], cwd: Path) -> dict[str, object]:
    """`python -X importtime` of CMD: total import time and which heavy packages it loads."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    total, loaded, top = 0, set(), []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        parts = line.split("|")  # "import time: self | cumulative | name", nested by indent
        name = parts[2]
        depth = (len(name) - len(name.lstrip())) // 2
        module = name.strip()
        loaded.add(module.split(".")[0])
        if depth == 0:
            total += int(parts[1])
            top.append((int(parts[1]), module))
    top.sort(reverse=True)
    return {
        "import_ms": round(total / 1000, 1),
        "heaviest": [f"{name} {us / 1000:.0f} ms" for us, name in top[:6]],
        "loads": sorted(w for w in WATCHED if w in loaded),
    }


def startup(app: Path, repeat: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for label, cmd in (
        ("python -c pass", BARE),
        ("forkman --version", [*FORKMAN, "--version"]),
        ("forkman overlay status", [*FORKMAN, "overlay", "status"]),
    ):
        call(cmd, app, (0, 1))
        out[label] = statistics.median(call(cmd, app, (0, 1)).wall for _ in range(max(5, repeat)))
    out["version profile"] = import_profile(["-m", "forkman", "--version"], app)
    out["status profile"] = import_profile(["-m", "forkman", "overlay", "status"], app)
    return out


# -- the report ------------------------------------------------------------------------------
ROWS = (
    "overlay status",
    "apply (nothing to do)",
    "guard",
    "sync --check",
    "sync",
    "git status",
    "python start-up",
    "git status + python",
    "floor",
    "git rebase",
)


def key(files: int, commits: int, overlays: int) -> str:
    return f"{files}/{commits}/{overlays}"


def report(
    grid: dict[str, Measured], args: argparse.Namespace, extra: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    lines, verdicts = [], []
    for files in args.files:
        for commits in args.commits:
            counts = [n for n in args.overlays if key(files, commits, n) in grid]
            if not counts:
                continue
            cols = [grid[key(files, commits, n)] for n in counts]
            lines += [
                "",
                (
                    f"### {files:,} files, {commits:,} upstream commits "
                    f"(wall s, CPU s in brackets; median of {args.repeat})"
                ),
                "",
                "| | " + " | ".join(f"{n:,} overlays" for n in counts) + " |",
                "|---" * (len(counts) + 1) + "|",
            ]
            for row in ROWS:
                runs = {len(c.samples[row]) for c in cols if row in c.samples}
                # a reference timed fewer times than the rest (--reference-runs) says so
                label = (
                    row
                    if runs <= {args.repeat}
                    else f"{row} ({'/'.join(map(str, sorted(runs)))} runs)"
                )
                lines.append(
                    f"| {label} | "
                    + " | ".join(f"{c.median(row):.3f} ({c.median(row, 'cpu'):.2f})" for c in cols)
                    + " |"
                )
            for target, (mine, ref, limit) in LIMITS.items():
                ratios = [c.median(mine) / c.median(ref) for c in cols]
                lines.append(
                    f"| {mine} / {ref} (≤ {limit}) | "
                    + " | ".join(f"**{r:.2f}**" if r > limit else f"{r:.2f}" for r in ratios)
                    + " |"
                )
                for n, r in zip(counts, ratios, strict=False):
                    verdicts.append(
                        {
                            "target": f"{target} ≤ {limit}× {ref}",
                            "files": files,
                            "commits": commits,
                            "overlays": n,
                            "ratio": round(r, 2),
                            "pass": r <= limit,
                        }
                    )
            lines.append(
                "| sync / git rebase | "
                + " | ".join(f"{c.median('sync') / c.median('git rebase'):.2f}" for c in cols)
                + " |"
            )
            lines.append(
                "| peak RSS MB: sync, status, rebase | "
                + " | ".join(
                    f"{c.peak('sync'):.0f}, {c.peak('overlay status'):.0f}, {c.peak('git rebase'):.0f}"
                    for c in cols
                )
                + " |"
            )
            for n, c in zip(counts, cols, strict=False):
                peak = max(
                    c.peak(r)
                    for r in (
                        "sync",
                        "overlay status",
                        "apply (nothing to do)",
                        "guard",
                        "sync --check",
                    )
                )
                verdicts.append(
                    {
                        "target": f"peak memory < {MEMORY_LIMIT_MB} MB",
                        "files": files,
                        "commits": commits,
                        "overlays": n,
                        "ratio": round(peak),
                        "pass": peak < MEMORY_LIMIT_MB,
                    }
                )
            lines.append(
                "| git processes: status, apply, guard, check, sync | "
                + " | ".join(
                    ", ".join(
                        str(c.git_processes.get(r, "?"))
                        for r in (
                            "overlay status",
                            "apply (nothing to do)",
                            "guard",
                            "sync --check",
                            "sync",
                        )
                    )
                    for c in cols
                )
                + " |"
            )
            if any(c.stops for c in cols):
                lines.append(
                    "| stops: forkman (sync + --skip), s | "
                    + " | ".join(
                        f"{c.stops['forkman sync + --skip']:.2f} ({c.stops['forkman cpu']:.2f}; "
                        f"{c.stops['forkman stops']:.0f} stops)"
                        for c in cols
                    )
                    + " |"
                )
                lines.append(
                    "| stops: git rebase + --skip, s | "
                    + " | ".join(
                        f"{c.stops['git rebase + --skip']:.2f} ({c.stops['rebase cpu']:.2f}; "
                        f"{c.stops['rebase stops']:.0f} stops)"
                        for c in cols
                    )
                    + " |"
                )
            lines.append(
                "| checkout equals git rebase's | "
                + " | ".join("yes" if c.agree else "**NO**" for c in cols)
                + " |"
            )
    lines += growth(grid, args)
    lines += ["", "### Start-up", ""]
    s = extra["startup"]
    lines.append(
        f"python -c pass {s['python -c pass']:.3f} s; forkman --version "
        f"{s['forkman --version']:.3f} s (limit {2 * s['python -c pass'] + VERSION_SLACK:.3f});"
        f" forkman overlay status (small app) {s['forkman overlay status']:.3f} s"
    )
    for label in ("version profile", "status profile"):
        p = s[label]
        lines.append(
            f"- {label.split()[0]}: imports {p['import_ms']} ms, loads "
            f"{', '.join(p['loads'])}; heaviest: {', '.join(p['heaviest'])}"
        )
    limit = 2 * s["python -c pass"] + VERSION_SLACK
    verdicts.append(
        {
            "target": "forkman --version ≤ 2× python -c pass + 20 ms",
            "ratio": round(s["forkman --version"] / limit, 2),
            "pass": s["forkman --version"] <= limit,
        }
    )
    lazy = not {"typer", "git", "unidiff", "rich"} & set(s["version profile"]["loads"])
    verdicts.append(
        {
            "target": "forkman --version imports none of typer, rich, GitPython, unidiff",
            "pass": lazy,
        }
    )
    return "\n".join(lines), verdicts


def growth(grid: dict[str, Measured], args: argparse.Namespace) -> list[str]:
    """Cost per added overlay, 10->200 against 200->1000 (about 1 when linear), and commits."""
    lines = [
        "",
        "### Growth",
        "",
        (
            "| files, commits | command | ms per overlay, first step | ms per overlay, second "
            "step | second / first |"
        ),
        "|---|---|---|---|---|",
    ]
    counts = sorted(args.overlays)
    for files in args.files:
        for commits in args.commits:
            have = [n for n in counts if key(files, commits, n) in grid]
            if len(have) < 3:
                continue
            a, b, c = (grid[key(files, commits, n)] for n in have[:3])
            for row in ROWS[:5]:
                first = (b.median(row) - a.median(row)) / (have[1] - have[0]) * 1000
                second = (c.median(row) - b.median(row)) / (have[2] - have[1]) * 1000
                lines.append(
                    f"| {files:,}, {commits:,} | {row} | {first:.2f} | {second:.2f} | "
                    f"{second / first if first > 0 else float('nan'):.1f} |"
                )
    if len(args.commits) > 1:
        lo, hi = min(args.commits), max(args.commits)
        lines += [
            "",
            f"| files, overlays | command | {hi:,} commits / {lo:,} commits |",
            "|---|---|---|",
        ]
        for files in args.files:
            for n in counts:
                if key(files, lo, n) in grid and key(files, hi, n) in grid:
                    for row in ("sync --check", "sync", "floor", "git rebase"):
                        ratio = grid[key(files, hi, n)].median(row) / grid[
                            key(files, lo, n)
                        ].median(row)
                        lines.append(f"| {files:,}, {n:,} | {row} | {ratio:.2f} |")
    return lines


def reference_runs(text: str) -> str | int:
    if text in ("auto", "full"):
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a number of runs (1 or more), auto or full")
    return int(text)


def ints(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(x) for x in text.split(",")}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4,000 files only: a few minutes")
    parser.add_argument("--files", type=ints)
    parser.add_argument("--overlays", type=ints)
    parser.add_argument("--commits", type=ints)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-stops", action="store_true", help="skip the sync-with-stops runs")
    parser.add_argument(
        "--reference-runs",
        type=reference_runs,
        default="auto",
        metavar="N|auto|full",
        help=(
            "git rebase's runs per cell: N in all (the first, its warm-up, timed too); full, a "
            f"warm-up plus --repeat; auto (default), full unless its warm-up took over "
            f"{SLOW_REFERENCE_S} s, then that one run"
        ),
    )
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--tmp", type=Path, help="where the temporary folder goes")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("files", "overlays", "commits"):
        setattr(args, name, getattr(args, name) or preset[name])
    tmp = Path(tempfile.mkdtemp(prefix="forkman-scale-", dir=args.tmp))
    started = time.perf_counter()
    grid: dict[str, Measured] = {}
    try:
        seal(tmp / "home")
        sys.path.insert(0, str(ROOT))
        # forkman runs from this tree (PYTHONPATH): compiled first, as an installed package is,
        # so no timed run compiles its modules (PYTHONDONTWRITEBYTECODE would make each one)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "forkman")],
            check=True,
            capture_output=True,
        )
        counter = GitCounter(tmp / "shim")
        for files in args.files:
            t0 = time.perf_counter()
            up = plan_upstream(files, SEED)
            for commits in args.commits:
                base_dir = tmp / f"up-{files}-{commits}"
                base_dir.mkdir()
                upstream = base_dir / "upstream.git"
                build_upstream(upstream, up, commits, SEED)
                base = base_dir / "base"
                git(base_dir, "clone", "-q", "--no-checkout", str(upstream), "base")
                git(base, "checkout", "-q", "--detach", OLD)
                freeze(base)
                log(f"upstream {files} files, {commits} commits: {time.perf_counter() - t0:.0f} s")
                for count in args.overlays:
                    if count > len(up.overlays):
                        log(
                            f"skipping {count} overlays: {files} files hold at most {len(up.overlays)}"
                        )
                        continue
                    t1 = time.perf_counter()
                    ws = base_dir / "ws"
                    build_workspace(ws, base, upstream, up, count)
                    t2 = time.perf_counter()
                    grid[key(files, commits, count)] = measure(
                        ws,
                        base_dir,
                        args.repeat,
                        counter,
                        not args.no_stops,
                        args.reference_runs if isinstance(args.reference_runs, int) else None,
                        args.reference_runs == "auto",
                    )
                    shutil.rmtree(ws)
                    log(
                        f"  {count} overlays: built in {t2 - t1:.0f} s, measured in "
                        f"{time.perf_counter() - t2:.0f} s"
                    )
                shutil.rmtree(base_dir)
        small = tmp / "startup"
        extra: dict[str, Any] = {"startup": startup_app(small, args.repeat), "machine": machine()}
        text, verdicts = report(grid, args, extra)
        info = extra["machine"]
        print(
            f"{info['cores']} cores, {info['git']}, Python {info['python']}, {info['date']}; "
            f"seed {SEED}; whole run {time.perf_counter() - started:.0f} s"
        )
        print(text)
        print("\n### Targets\n")
        for v in verdicts:
            where = (
                f" at {v['files']:,} files, {v['commits']:,} commits, {v['overlays']:,} overlays"
                if "files" in v
                else ""
            )
            print(
                f"- {'PASS' if v['pass'] else 'FAIL'} {v['target']}{where}"
                + (f": {v['ratio']}" if "ratio" in v else "")
            )
        for c in grid.values():
            for note in c.notes:
                print(note)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": info,
                        "seed": SEED,
                        "repeat": args.repeat,
                        "startup": extra["startup"],
                        "verdicts": verdicts,
                        "grid": {
                            k: {
                                "median_wall": {r: c.median(r) for r in ROWS},
                                "median_cpu": {r: c.median(r, "cpu") for r in ROWS},
                                "peak_mb": {r: c.peak(r) for r in c.samples},
                                "git_processes": c.git_processes,
                                "stops": c.stops,
                                "agree": c.agree,
                            }
                            for k, c in grid.items()
                        },
                    },
                    indent=1,
                )
            )
        agree = all(c.agree for c in grid.values())
        return 0 if agree and all(v["pass"] for v in verdicts) else 1
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def startup_app(folder: Path, repeat: int) -> dict[str, object]:
    """Start-up on a small app repo (3 overlays on 200 files): imports dominate there."""
    up = plan_upstream(200, SEED)
    folder.mkdir()
    upstream = folder / "upstream.git"
    build_upstream(upstream, up, 5, SEED)
    base = folder / "base"
    git(folder, "clone", "-q", "--no-checkout", str(upstream), "base")
    git(base, "checkout", "-q", "--detach", OLD)
    build_workspace(folder / "ws", base, upstream, up, 3)
    return startup(folder / "ws" / "app", repeat)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
