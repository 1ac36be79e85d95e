"""Carry Debian's patch series from bookworm to trixie with forkman, `git am -3` and quilt, scored against Debian's maintainers.

    python benchmarks/bench_carry.py [--packages tuned|heldout|all|a,b] [--timeout S] [--cache DIR]
                                     [--mirror URL] [--json] [--keep] [--report]

Inputs are downloaded, never committed: a private apt configuration under CACHE/apt (its own
sources file with `deb-src` lines for bookworm and trixie, its own lists and cache; the system's
sources and lists are left alone) finds each package's two versions, and `apt-get source
--download-only` fetches their orig and debian tarballs into CACHE/src/PKG. The mirror is the one
the system's apt configuration uses for Debian, or --mirror.

For each package, in a temporary folder (deleted unless --keep), with git sealed from the user's
configuration: an upstream repository holding bookworm's orig tree (tag `old`) and trixie's (tag
`new`), debian/ left out. The input is bookworm's debian/patches/series. Timed, each on that input:

  forkman      `forkman init` on old, the series imported (`forkman import --quilt` when the
               installed forkman has it, else each patch applied on the old checkout and
               `forkman overlay capture`d), then `forkman sync --to new` with `--skip` at each stop
  git am -3    the series made into commits on old (`patch` as quilt applies, then
               `git format-patch`), then `git am -3` onto new, `git am --skip` at each stop
  quilt        `quilt push -a` on the new tree (quilt's default fuzz), a patch that does not apply
               taken out of the series and the push resumed

Scored against trixie's series, matched by name (extension and folder aside) or by DEP-3 subject:
a patch the maintainers kept only refreshed (the same lines added and removed in the same files)
must leave the files it touches byte-identical to trixie's series applied to the new tree; one
they dropped whose change the new orig tree already holds (the patch reverse-applies there, or
every line it adds is there) must be reported upstreamed. Everything else is listed, not scored;
so is a patch sharing a file with a patch that is neither. Misses go to CACHE/misses.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import machine, seal

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "bash",
    "tar",
    "less",
    "tmux",
    "nano",
    "wget",
    "logrotate",
    "procps",
    "coreutils",
    "gzip",
    "findutils",
    "e2fsprogs",
]
# Packages forkman was never tuned on, judged the same way: each one's bookworm and trixie
# tarballs answered 200 on the mirror here (2026-12-01), most with patches dropped in trixie.
HELDOUT = [
    "openssh",
    "curl",
    "util-linux",
    "file",
    "libxml2",
    "xz-utils",
    "ncurses",
    "shadow",
    "openldap",
    "krb5",
    "libgcrypt20",
    "tiff",
    "libarchive",
    "libzstd",
    "sqlite3",
    "postfix",
    "groff",
    "ntpsec",
    "cups",
    "giflib",
    "ppp",
    "inetutils",
    "libcap2",
    "busybox",
    "dash",
    "git",
    "lua5.4",
    "smartmontools",
    "memcached",
    "socat",
    "kexec-tools",
]
SETS = {"tuned": PACKAGES, "heldout": HELDOUT, "all": PACKAGES + HELDOUT}
SUITES = ("bookworm", "trixie")
OLD, NEW = "old", "new"
FORKMAN = [sys.executable, "-m", "forkman"]
TOOLS = ("forkman", "git am -3", "quilt")
# claims that say upstream has the patch: quilt's "can be reverse-applied" is its hint
UPSTREAM_CLAIMS = ("upstreamed", "likely upstreamed", "reversed")
KEPT = ("refreshed", "changed", "shares-files")  # the maintainers kept the patch
RECOGNISED_RATE = 0.75  # issue 11: "well above today's half"
# patch as quilt and dpkg-source apply a series: no fuzz when building the inputs, no backups
PATCH = ["patch", "-t", "-N", "-E", "-F0", "--no-backup-if-mismatch", "-r", "-", "-s"]


TIMED_OUT = -9


def sh(
    cmd: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[int, str]:
    """Exit code and output; TIMED_OUT when TIMEOUT seconds pass first (the process killed)."""
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            capture_output=True,
            check=False,
            env={**os.environ, **(env or {})},
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return TIMED_OUT, f"timed out after {timeout:.0f} s"
    return proc.returncode, proc.stdout.decode(errors="replace") + proc.stderr.decode(
        errors="replace"
    )


def must(cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    code, out = sh(cmd, cwd, env)
    if code:
        raise RuntimeError(f"{' '.join(cmd)} exited {code} in {cwd}:\n{out}")
    return out


# -- the inputs: a private apt configuration ---------------------------------------------------
def system_mirror() -> str | None:
    """The first Debian archive URI in the system's apt sources (security and updates aside)."""
    etc = Path("/etc/apt")
    files = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    files += sorted((etc / "sources.list.d").glob("*.sources"))
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        uris = re.findall(r"^URIs:\s*(.+)$", text, re.MULTILINE)
        uris += re.findall(r"^\s*deb(?:-src)?\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.MULTILINE)
        for uri in (u for line in uris for u in line.split()):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return None


@dataclass(frozen=True)
class Apt:
    """apt-get and apt-cache on their own sources file, lists and cache under ROOT."""

    root: Path
    mirror: str

    def options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::sourcelist={self.root / 'sources.list'}",
            "-o", "Dir::Etc::sourceparts=/nonexistent",
            "-o", f"Dir::State::Lists={self.root / 'lists'}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", "APT::Sandbox::User=root",
        ]  # fmt: skip

    def update(self) -> None:
        (self.root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        sources = "".join(f"deb-src {self.mirror} {suite} main\n" for suite in SUITES)
        stale = (self.root / "sources.list").exists() is False or (
            self.root / "sources.list"
        ).read_text() != sources
        (self.root / "sources.list").write_text(sources)
        if stale or not any((self.root / "lists").glob("*Sources*")):
            must(["apt-get", *self.options(), "-q", "update"], self.root)

    def versions(self, package: str) -> dict[str, list[str]]:
        """Each suite's versions of PACKAGE's source, newest listed first."""
        out = must(["apt-cache", *self.options(), "madison", package], self.root)
        found: dict[str, list[str]] = {}
        for line in out.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) == 3 and cells[0] == package and cells[2].endswith("Sources"):
                suite = cells[2].split()[-2].split("/")[0]
                if cells[1] not in found.setdefault(suite, []):
                    found[suite].append(cells[1])
        return found

    def fetch(self, package: str, versions: list[str], dest: Path) -> tuple[str, list[Path]]:
        """The first of VERSIONS whose tarballs the mirror serves (it answers 404 for many)."""
        errors = []
        for version in versions:
            try:
                return version, self.download(package, version, dest)
            except RuntimeError as error:
                errors.append(str(error))
        raise RuntimeError("; ".join(errors) or f"{package}: no version listed")

    def download(self, package: str, version: str, dest: Path) -> list[Path]:
        """The orig and debian tarballs of PACKAGE=VERSION in DEST (fetched unless already there)."""
        dest.mkdir(parents=True, exist_ok=True)
        spec = f"{package}={version}"
        listing = dest / ".uris"  # apt lists only the files its folder does not hold yet
        listing.mkdir(exist_ok=True)
        uris = must(["apt-get", *self.options(), "source", "--print-uris", spec], listing)
        names = re.findall(r"^'\S+' (\S+) \d+", uris, re.MULTILINE)
        wanted = [dest / n for n in names if re.search(r"\.(orig(-[\w-]+)?|debian)\.tar\.\w+$", n)]
        if not wanted:
            raise RuntimeError(f"{spec}: no orig and debian tarballs listed (native or 1.0?)")
        if not all(p.exists() for p in wanted):
            # a missing .dsc or signature (the mirror answers 404 for some) fails the command;
            # only the tarballs matter here
            sh(["apt-get", *self.options(), "source", "--download-only", spec], dest)
        missing = [p.name for p in wanted if not p.exists()]
        if missing:
            raise RuntimeError(f"{spec}: could not download {', '.join(missing)}")
        return wanted


def unpack(tarballs: list[Path], dest: Path) -> Path:
    """DEST/orig (the orig tree, components in their folders, debian/ left out) and DEST/debian."""
    if (dest / "done").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    # the main orig tarball first: a component's folder goes inside its tree
    for tarball in sorted(tarballs, key=lambda t: ".orig-" in t.name):
        comp = re.search(r"\.orig-([\w-]+)\.tar", tarball.name)
        kind = "debian" if ".debian.tar" in tarball.name else "orig"
        target = dest / kind / (comp.group(1) if comp else "")
        scratch = dest / "scratch"
        scratch.mkdir(parents=True)
        must(["tar", "-xf", str(tarball), "-C", str(scratch)], dest)
        entries = list(scratch.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else scratch
        target.parent.mkdir(parents=True, exist_ok=True)
        top.rename(target)
        shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(dest / "orig" / "debian", ignore_errors=True)
    (dest / "done").write_text("")
    return dest


# -- quilt series and their patches ----------------------------------------------------------
@dataclass(frozen=True)
class Patch:
    name: str  # as the series names it
    path: Path
    level: int
    subject: str
    upstream_note: str  # what its header says of upstream (Applied-Upstream:, an upstream Origin:)
    files: tuple[str, ...]
    changes: tuple[tuple[str, tuple[str, ...]], ...]  # per file: its -/+ lines, context aside

    @property
    def stem(self) -> str:
        return re.sub(r"\.(patch|diff)$", "", self.name.rsplit("/", 1)[-1]).lower()

    def apply(self, tree: Path, reverse: bool = False, dry: bool = False) -> tuple[int, str]:
        cmd = [*PATCH, f"-p{self.level}", "-i", str(self.path)]
        return sh(cmd + (["-R"] if reverse else []) + (["--dry-run"] if dry else []), tree)


def header_fields(text: str) -> dict[str, str]:
    """DEP-3 (or mail) fields before the diff, the first of each; a folded Subject: unfolded."""
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith(("--- ", "diff ", "Index: ", "===")):
            break
        if line[:1] in (" ", "\t") and key == "subject":
            fields[key] += " " + line.strip()
        elif m := re.match(r"^([A-Za-z][\w-]*):\s*(.*)$", line):
            key = m.group(1).lower()
            if key in fields:
                key = ""
            else:
                fields[key] = m.group(2).strip()
        else:
            key = ""  # a Description's further lines are its long text, not its subject
    return fields


def subject_of(fields: dict[str, str]) -> str:
    text = fields.get("subject") or fields.get("description") or ""
    return re.sub(r"^\[PATCH[^]]*\]\s*", "", text).strip()


def upstream_note(fields: dict[str, str]) -> str:
    if fields.get("applied-upstream"):
        return f"Applied-Upstream: {fields['applied-upstream']}"
    origin = fields.get("origin", "")
    return f"Origin: {origin}" if origin and not origin.startswith(("vendor", "other")) else ""


def strip_path(raw: str, level: int) -> str:
    path = raw.split("\t")[0].strip()
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    parts = path.split("/")
    return "/".join(parts[level:]) if len(parts) > level else path


def diff_changes(text: str, level: int) -> dict[str, list[str]]:
    """Each file the diff touches, with its removed and added lines in order (hunks counted)."""
    changes: dict[str, list[str]] = {}
    lines = text.splitlines()
    i = 0
    current = None
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old, new = line[4:], lines[i + 1][4:]
            target = old if new.split("\t")[0].strip() == "/dev/null" else new
            current = strip_path(target, level)
            changes.setdefault(current, [])
            i += 2
            continue
        m = re.match(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@", line)
        if m and current is not None:
            old_n = int(m.group(1)) if m.group(1) is not None else 1
            new_n = int(m.group(2)) if m.group(2) is not None else 1
            i += 1
            while i < len(lines) and (old_n > 0 or new_n > 0):
                body = lines[i]
                if body.startswith("\\"):
                    i += 1
                    continue
                tag = body[:1] or " "
                if tag in " -":
                    old_n -= 1
                if tag in " +":
                    new_n -= 1
                if tag in "-+":
                    changes[current].append(body)
                i += 1
            continue
        if m2 := re.match(r"^diff --git (\S+) (\S+)$", line):
            # renames, mode changes and binary files have no ---/+++ lines
            current = strip_path(m2.group(2), level)
            changes.setdefault(current, [])
        i += 1
    return changes


def read_series(patches_dir: Path) -> list[Patch]:
    series = patches_dir / "series"
    if not series.exists():
        return []
    out = []
    for raw in series.read_text().splitlines():
        words = raw.split("#", 1)[0].split() if not raw.lstrip().startswith("#") else []
        if not words:
            continue
        level = 1
        for opt in words[1:]:
            if m := re.match(r"^-p(\d+)$", opt):
                level = int(m.group(1))
        path = patches_dir / words[0]
        text = path.read_text(errors="replace") if path.exists() else ""
        changes = diff_changes(text, level)
        fields = header_fields(text)
        out.append(
            Patch(
                name=words[0],
                path=path,
                level=level,
                subject=subject_of(fields),
                upstream_note=upstream_note(fields),
                files=tuple(changes),
                changes=tuple((f, tuple(c)) for f, c in sorted(changes.items())),
            )
        )
    return out


# -- what Debian's maintainers did -----------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What trixie's series says about one bookworm patch."""

    kind: str  # refreshed, changed, upstreamed, dropped, empty
    counterpart: Patch | None
    how: str  # how it was matched or judged


def judge(old: list[Patch], new: list[Patch], new_tree: Path) -> dict[str, Verdict]:
    by_name = {p.name: p for p in new}
    by_stem = {p.stem: p for p in new}
    by_subject = {p.subject.lower(): p for p in new if p.subject}
    verdicts = {}
    for p in old:
        if not p.files:
            verdicts[p.name] = Verdict("empty", None, "the patch changes nothing")
            continue
        match, how = by_name.get(p.name), "same name"
        if match is None and p.stem in by_stem:
            match, how = by_stem[p.stem], f"renamed {by_stem[p.stem].name}"
        if match is None and p.subject and p.subject.lower() in by_subject:
            match = by_subject[p.subject.lower()]
            how = f"renamed {match.name} (same subject)"
        if match is not None:
            kind = "refreshed" if match.changes == p.changes else "changed"
            verdicts[p.name] = Verdict(kind, match, how)
        elif p.apply(new_tree, reverse=True, dry=True)[0] == 0:
            verdicts[p.name] = Verdict("upstreamed", None, "dropped; reverse-applies to new")
        elif lines_present(p, new_tree, strip=False):
            verdicts[p.name] = Verdict("upstreamed", None, "dropped; new holds every added line")
        elif lines_present(p, new_tree, strip=True):
            how = "dropped; new holds every added line, modulo whitespace"
            verdicts[p.name] = Verdict("upstreamed", None, how)
        else:
            note = f" as written (its header: {p.upstream_note})" if p.upstream_note else ""
            verdicts[p.name] = Verdict("dropped", None, f"dropped; new does not hold it{note}")
    return verdicts


def lines_present(p: Patch, tree: Path, strip: bool) -> bool:
    """TREE's files hold every line P adds (blank lines aside), exactly or with whitespace STRIPped."""

    def norm(line: str) -> str:
        return line.strip() if strip else line

    if not any(ln.startswith("+") and ln[1:].strip() for _, lines in p.changes for ln in lines):
        return False  # a pure deletion: only reverse-applying shows upstream made it
    for path, lines in p.changes:
        added = [norm(ln[1:]) for ln in lines if ln.startswith("+") and ln[1:].strip()]
        try:
            text = (tree / path).read_text(errors="replace")
        except OSError:
            return False
        have = {norm(ln) for ln in text.splitlines()}
        if any(a not in have for a in added):
            return False
    return True


# -- the tools -------------------------------------------------------------------------------
@dataclass
class Run:
    """One tool's run on one package: seconds, its final tree, and its claim for each patch."""

    seconds: float = 0.0
    cpu: float = 0.0  # user + sys of the tool's processes (the machine's cores are shared)
    tree: Path | None = None
    claims: dict[str, str] = field(default_factory=dict)  # carried, upstreamed, failed
    details: dict[str, str] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)


def children_cpu() -> float:
    """User + sys seconds of every finished child process so far (subprocess.run waits)."""
    t = os.times()
    return t.children_user + t.children_system


def build_upstream(dest: Path, old_tree: Path, new_tree: Path) -> None:
    must(["git", "init", "-q", "--bare", str(dest)], dest.parent)
    for tree, tag in ((old_tree, OLD), (new_tree, NEW)):
        env = {"GIT_DIR": str(dest), "GIT_WORK_TREE": str(tree)}
        must(["git", "add", "-A", "-f", "."], tree, env)
        must(
            ["git", "commit", "-q", "--allow-empty", "-m", f"{tag}: {tree.parent.name}"], tree, env
        )
        must(["git", "tag", tag], tree, env)


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    must(["cp", "-a", str(src), str(dest)], src.parent)
    return dest


def run_git_am(work: Path, upstream: Path, series: list[Patch]) -> Run:
    """Commits on old built as quilt would apply the series, mailed, then `git am -3` onto new."""
    repo = work / "am"
    must(["git", "clone", "-q", str(upstream), str(repo)], work)
    must(["git", "checkout", "-q", "-b", "carried", OLD], repo)
    run = Run(tree=repo)
    mailed = []
    for p in series:
        code, out = p.apply(repo)
        if code:
            raise RuntimeError(f"{p.name} does not apply to old:\n{out}")
        must(["git", "add", "-A", "-f", "."], repo)
        if sh(["git", "diff", "--cached", "--quiet"], repo)[0] == 0:
            # git am refuses a whole mbox over one empty mail
            run.claims[p.name], run.details[p.name] = "carried", "no change, not mailed"
            continue
        message = f"{p.subject or p.name}\n\nDebian-Patch: {p.name}"
        must(["git", "commit", "-q", "-m", message], repo)
        mailed.append(p)
    mails = work / "mails"
    must(["git", "format-patch", "-q", "--zero-commit", "-o", str(mails), f"{OLD}..carried"], repo)
    must(["git", "checkout", "-q", "--detach", NEW], repo)
    files = sorted(str(m) for m in mails.iterdir())
    outputs = []
    start, cpu = time.perf_counter(), children_cpu()
    code, out = sh(["git", "am", "-3", *files], repo) if files else (0, "")
    outputs.append(out)
    for _ in mailed:
        if code == 0 or not (repo / ".git" / "rebase-apply").exists():
            break
        code, out = sh(["git", "am", "--skip"], repo)
        outputs.append(out)
    run.seconds, run.cpu = time.perf_counter() - start, children_cpu() - cpu
    if code:
        raise RuntimeError(f"git am stopped for good:\n{out}")
    # one "Applying:" block per mail, in order, across the runs
    blocks = re.split(r"^Applying: ", "".join(outputs), flags=re.MULTILINE)[1:]
    for p, block in zip(mailed, blocks, strict=False):
        if "No changes -- Patch already applied" in block:
            run.claims[p.name] = "upstreamed"
        elif "Patch failed at" in block or "Failed to merge in the changes" in block:
            run.claims[p.name] = "failed"
            run.details[p.name] = " / ".join(
                ln for ln in block.splitlines() if ln.startswith(("CONFLICT", "error:"))
            )[:300]
        else:
            run.claims[p.name] = "carried"
        if "3-way merge" in block and run.claims[p.name] != "failed":
            run.details[p.name] = "3-way"
    return run


def run_quilt(work: Path, new_tree: Path, patches_dir: Path, series: list[Patch]) -> Run:
    """`quilt push -a` on the new tree, a patch that does not apply taken out and the push resumed."""
    tree = copy_tree(new_tree, work / "quilt")
    shutil.copytree(patches_dir, tree / "patches")
    env = {"QUILT_PATCHES": "patches", "QUILT_PC": ".pc"}
    run = Run(tree=tree)
    start, cpu = time.perf_counter(), children_cpu()
    outputs = []
    for _ in range(len(series) + 1):
        code, out = sh(["quilt", "--quiltrc", "/dev/null", "push", "-a"], tree, env)
        outputs.append(out)
        failed = re.search(
            r"^Patch (\S+) (?:does not apply|can be reverse-applied)", out, re.MULTILINE
        )
        if code == 0 or not failed:
            break
        lines = (tree / "patches" / "series").read_text().splitlines()
        drop = next(
            i for i, ln in enumerate(lines) if ln.split() and ln.split()[0] == failed.group(1)
        )
        (tree / "patches" / "series").write_text("\n".join(lines[:drop] + lines[drop + 1 :]) + "\n")
    run.seconds, run.cpu = time.perf_counter() - start, children_cpu() - cpu
    text = "".join(outputs)
    for block in re.split(r"^Applying patch ", text, flags=re.MULTILINE)[1:]:
        name = block.split("\n", 1)[0].strip()
        if re.search(
            rf"^Patch {re.escape(name)} (does not apply|can be reverse)", block, re.MULTILINE
        ):
            # quilt stops either way; "can be reverse-applied" is its hint that upstream has it
            reversed_ = "can be reverse-applied" in block
            run.claims[name] = "reversed" if reversed_ else "failed"
            run.details[name] = "can be reverse-applied" if reversed_ else "does not apply"
        else:
            run.claims[name] = "carried"
            fuzz = re.findall(r"with fuzz (\d+)", block)
            offset = re.findall(r"offset (-?\d+) lines?", block)
            if fuzz or offset:
                run.details[name] = ", ".join(
                    ([f"fuzz {max(map(int, fuzz))}"] if fuzz else [])
                    + ([f"offset {len(offset)} hunks"] if offset else [])
                )
    for p in series:
        run.claims.setdefault(p.name, "failed" if p.files else "carried")
    shutil.rmtree(tree / ".pc", ignore_errors=True)
    shutil.rmtree(tree / "patches", ignore_errors=True)
    return run


def overlay_name(patch: str, taken: set[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"\.(patch|diff)$", "", patch.lower())).strip("-")
    name, n = slug or "patch", 2
    while name in taken:
        name, n = f"{slug}-{n}", n + 1
    taken.add(name)
    return name


def as_json(out: str, what: str) -> dict:
    try:
        return dict(json.loads(out))
    except json.JSONDecodeError:
        raise RuntimeError(f"{what} printed no JSON: {out.strip()[-600:]}") from None


def has_import() -> bool:
    return sh([*FORKMAN, "import", "--help"], ROOT)[0] == 0


def import_series(
    app: Path, patches_dir: Path, series: list[Patch]
) -> tuple[dict[str, str], dict[str, str]]:
    """The series as overlays, by `forkman import --quilt`: overlay names, and import notes."""
    code, out = sh([*FORKMAN, "import", "--quilt", str(patches_dir), "--json"], app)
    if code not in (0, 1):  # 1: some patches did not come in
        raise RuntimeError(f"forkman import exited {code}:\n{out}")
    report = as_json(out, "forkman import")
    names, notes = {}, {}
    for p in series:
        entry = next(
            (e for e in report["patches"] if e["label"] in (p.name, f"{patches_dir.name}/{p.name}")
             or e["label"].endswith(f"/{p.name}")),
            None,
        )  # fmt: skip
        if entry and entry["state"] in ("imported", "moved"):
            names[p.name] = entry["name"]
        if entry and entry["state"] != "imported":
            notes[p.name] = f"import {entry['state']}" + (
                f" ({entry['detail']})" if entry["detail"] else ""
            )
    return names, notes


def capture_series(
    app: Path, checkout: Path, series: list[Patch]
) -> tuple[dict[str, str], dict[str, str]]:
    """Until `forkman import` exists: each patch applied on the old checkout, then captured."""
    taken: set[str] = set()
    names = {}
    for p in series:
        if not p.files:
            continue
        code, out = p.apply(checkout)
        if code:
            raise RuntimeError(f"{p.name} does not apply to old:\n{out}")
        name = overlay_name(p.name, taken)
        must(
            [
                *FORKMAN,
                "overlay",
                "capture",
                name,
                "-m",
                f"{p.subject or p.name}\n\nDebian: {p.name}",
            ],
            app,
        )
        names[p.name] = name
    return names, {}


def run_forkman(
    work: Path, upstream: Path, patches_dir: Path, series: list[Patch], timeout: float | None
) -> Run:
    app = work / "app"
    app.mkdir()
    must(["git", "init", "-q"], app)
    must(
        [*FORKMAN, "init", "--upstream", str(upstream), "--ref", OLD, "--path", "checkout",
         "--release-pattern", "*"],
        app,
    )  # fmt: skip
    checkout = app / "checkout"
    start = time.perf_counter()
    if has_import():
        names, notes = import_series(app, patches_dir, series)
        how = "forkman import --quilt"
    else:
        names, notes = capture_series(app, checkout, series)
        how = "overlay capture (no forkman import yet)"
    imported = time.perf_counter() - start
    must(["git", "add", "-A"], app)
    must(["git", "commit", "-q", "-m", "The series as overlays"], app)
    run = Run(tree=checkout, extra={"import": imported})
    run.details["_import"] = how
    states: dict[str, dict] = {}
    start, cpu = time.perf_counter(), children_cpu()
    deadline = start + timeout if timeout else None

    def left() -> float | None:
        return max(1.0, deadline - time.perf_counter()) if deadline else None

    code, out = sh([*FORKMAN, "sync", "--to", NEW, "--no-fetch", "--json"], app, timeout=left())
    for _ in range(len(series) + 1):
        if code == TIMED_OUT:
            break
        report = as_json(out, "forkman sync")
        for o in report.get("overlays", []):
            if o["state"] != "skipped" or o["name"] not in states:
                states[o["name"]] = o
        if code == 0 or report.get("phase") != "stopped":
            break
        code, out = sh([*FORKMAN, "sync", "--skip", "--json"], app, timeout=left())
    run.seconds, run.cpu = time.perf_counter() - start, children_cpu() - cpu
    if code == TIMED_OUT:
        run.extra["timed out"] = run.seconds
    elif code not in (0, 1):
        raise RuntimeError(f"forkman sync exited {code}:\n{out}")
    for p in series:
        if not p.files:
            run.claims[p.name], run.details[p.name] = "carried", "empty, nothing to import"
            continue
        state = states.get(names.get(p.name, ""), {})
        kind = state.get("state", "not imported" if p.name not in names else "timed out")
        run.claims[p.name] = (
            "carried"
            if kind in ("clean", "moved", "partly-upstreamed", "resolved")
            else "upstreamed"
            if kind == "upstreamed"
            else "likely upstreamed"
            if state.get("likely_upstreamed")
            else "timed out"
            if kind == "timed out"
            else "failed"
        )
        detail = kind + (f": {state['detail']}" if state.get("detail") else "")
        run.details[p.name] = "; ".join(x for x in (notes.get(p.name), detail) if x)
    return run


# -- scoring ---------------------------------------------------------------------------------
def read(tree: Path, path: str) -> bytes | None:
    try:
        return (tree / path).read_bytes()
    except OSError:
        return None


def score(
    series: list[Patch],
    trixie: list[Patch],
    verdicts: dict[str, Verdict],
    expected_without: Callable[[frozenset[str]], Path | None],
    runs: dict[str, Run],
) -> list[dict]:
    """One row per bookworm patch: the maintainers' verdict and each tool's outcome.

    Each tool's tree is compared with trixie's series less the counterparts of the patches that
    tool left out: a patch it carried must not count as wrong because a file it shares with one
    the tool could not carry lacks that one's lines."""
    matched = {v.counterpart.name for v in verdicts.values() if v.counterpart}
    left_out = {
        tool: frozenset(
            c.name
            for q in series
            if (c := verdicts[q.name].counterpart) is not None
            and run.claims.get(q.name, "failed") != "carried"
        )
        for tool, run in runs.items()
    }
    # where trixie's series does not apply without them, a file shared with one cannot be judged
    entangled = {
        tool: set()
        if expected_without(out) is not None
        else {f for t in trixie if t.name in out for f in t.files}
        for tool, out in left_out.items()
    }
    expected_of = {
        tool: expected_without(out) or expected_without(frozenset())
        for tool, out in left_out.items()
    }
    rows = []
    for p in series:
        v = verdicts[p.name]
        row = {"patch": p.name, "verdict": v.kind, "how": v.how, "tools": {}}
        files = set(p.files) | set(v.counterpart.files if v.counterpart else ())
        blockers = [
            q.name
            for q in series
            if q is not p
            # the maintainers' version of a changed patch may touch files the old one did not
            and files & (set(q.files) | set(c.files if (c := verdicts[q.name].counterpart) else ()))
            and verdicts[q.name].kind not in ("refreshed", "upstreamed")
        ] + [t.name for t in trixie if t.name not in matched and files & set(t.files)]
        if v.kind == "refreshed" and blockers:
            row["verdict"], row["how"] = "shares-files", f"shares files with {', '.join(blockers)}"
        for tool, run in runs.items():
            expected = expected_of[tool]
            claim = run.claims.get(p.name, "failed")
            detail = run.details.get(p.name, "")
            says_upstream = claim in UPSTREAM_CLAIMS
            if row["verdict"] == "refreshed":
                same = all(read(run.tree, f) == read(expected, f) for f in sorted(files))
                outcome = (
                    "called upstreamed"
                    if says_upstream
                    else "not carried"
                    if claim == "failed"
                    else "timed out"  # the sync never finished: its tree says nothing
                    if run.extra.get("timed out") or claim == "timed out"
                    else "correct"
                    if same
                    else "entangled"
                    if files & entangled[tool]
                    else "wrong"
                )
            elif row["verdict"] == "upstreamed":
                outcome = (
                    "recognised"
                    if says_upstream
                    else {"carried": "carried again", "failed": "not recognised"}.get(claim, claim)
                )
            elif row["verdict"] in KEPT and says_upstream:
                outcome = "called upstreamed"
            elif (
                row["verdict"] == "changed"
                and claim == "carried"
                and not run.extra.get("timed out")
            ):
                same = all(read(run.tree, f) == read(expected, f) for f in sorted(files))
                outcome = "carried, as theirs" if same else "carried, unlike theirs"
            else:
                outcome = claim
            row["tools"][tool] = {"outcome": outcome, "claim": claim, "detail": detail}
        rows.append(row)
    return rows


def expected_tree(work: Path, new_tree: Path, trixie: list[Patch]) -> Path:
    tree = copy_tree(new_tree, work / "expected")
    for t in trixie:
        if t.files:
            code, out = t.apply(tree)
            if code:
                raise RuntimeError(f"trixie's {t.name} does not apply to new:\n{out}")
    return tree


def expected_trees(
    work: Path, new_tree: Path, trixie: list[Patch]
) -> Callable[[frozenset[str]], Path | None]:
    """Trixie's series applied to new, less some of its patches (None when the rest does not
    apply without them)."""
    full = expected_tree(work, new_tree, trixie)

    made: dict[frozenset[str], Path | None] = {frozenset(): full}

    def without(left_out: frozenset[str]) -> Path | None:
        left_out = frozenset(n for n in left_out if any(t.name == n and t.files for t in trixie))
        if left_out not in made:
            tree = copy_tree(new_tree, work / f"expected-{len(made)}")
            applied = all(
                t.apply(tree)[0] == 0 for t in trixie if t.files and t.name not in left_out
            )
            made[left_out] = tree if applied else None
        return made[left_out]

    return without


def bench_package(
    apt: Apt, cache: Path, work: Path, package: str, timeout: float | None = None
) -> dict:
    listed = apt.versions(package)
    missing = [s for s in SUITES if s not in listed]
    if missing:
        raise RuntimeError(f"{package}: no source package in {', '.join(missing)}")
    trees, versions = {}, {}
    for suite in SUITES:
        versions[suite], tarballs = apt.fetch(package, listed[suite], cache / "src" / package)
        trees[suite] = unpack(
            tarballs, cache / "unpacked" / f"{package}_{versions[suite].split(':')[-1]}"
        )
    work.mkdir(parents=True)
    old_tree, new_tree = trees["bookworm"] / "orig", trees["trixie"] / "orig"
    upstream = work / "upstream.git"
    build_upstream(upstream, old_tree, new_tree)
    old_dir, new_dir = (
        trees["bookworm"] / "debian" / "patches",
        trees["trixie"] / "debian" / "patches",
    )
    series, trixie = read_series(old_dir), read_series(new_dir)
    verdicts = judge(series, trixie, new_tree)
    expected = expected_trees(work, new_tree, trixie)
    runs = {
        "forkman": run_forkman(work, upstream, old_dir, series, timeout),
        "git am -3": run_git_am(work, upstream, series),
        "quilt": run_quilt(work, new_tree, old_dir, series),
    }
    rows = score(series, trixie, verdicts, expected, runs)
    return {
        "package": package,
        "versions": versions,
        "patches": len(series),
        "trixie_patches": len(trixie),
        "import": runs["forkman"].details["_import"],
        "seconds": {tool: round(run.seconds, 3) for tool, run in runs.items()},
        "cpu_seconds": {tool: round(run.cpu, 3) for tool, run in runs.items()},
        "timed_out": "timed out" in runs["forkman"].extra,
        "import_seconds": round(runs["forkman"].extra["import"], 3),
        "rows": rows,
    }


# -- the report ------------------------------------------------------------------------------
def tally(rows: list[dict], tool: str) -> dict[str, int]:
    out = dict.fromkeys(
        ("correct", "wrong", "not carried", "recognised", "upstreamed", "refreshed", "kept"), 0
    )
    out["timed out"] = out["entangled"] = 0
    out |= {"carried again": 0, "called upstreamed": 0}
    for row in rows:
        outcome = row["tools"][tool]["outcome"]
        if row["verdict"] in KEPT:
            out["kept"] += 1
            out["called upstreamed"] += outcome == "called upstreamed"
        if row["verdict"] == "refreshed":
            out["refreshed"] += 1
            if outcome != "called upstreamed":
                out[outcome] += 1
        elif row["verdict"] == "upstreamed":
            out["upstreamed"] += 1
            out["recognised"] += outcome == "recognised"
            out["carried again"] += outcome == "carried again"
    return out


def silent(counts: dict[str, int]) -> int:
    """Results a tool reports as carried or upstreamed that differ from the maintainers'."""
    return counts["wrong"] + counts["carried again"] + counts["called upstreamed"]


def rate(counts: dict[str, int]) -> str:
    n = counts["upstreamed"]
    return f"{counts['recognised']}/{n} ({counts['recognised'] / n:.0%})" if n else "0/0"


def targets(rows: list[dict]) -> list[tuple[str, str, bool]]:
    """Issue 11's targets, then issue 13's (which they tighten)."""
    t = {tool: tally(rows, tool) for tool in TOOLS}
    f, am = t["forkman"], t["git am -3"]
    best_carried = max(am["correct"], t["quilt"]["correct"])
    best_upstreamed = max(am["recognised"], t["quilt"]["recognised"])
    return [
        (
            "no patch reported carried or upstreamed differs from the maintainers' result",
            ", ".join(f"{tool} {silent(t[tool])}" for tool in TOOLS),
            silent(f) == 0,
        ),
        (
            "no kept patch called upstreamed (likely-upstreamed included)",
            ", ".join(f"{tool} {t[tool]['called upstreamed']}" for tool in TOOLS),
            f["called upstreamed"] == 0,
        ),
        (
            f"upstreamed recognised, likely-upstreamed included: at least {RECOGNISED_RATE:.0%}",
            ", ".join(f"{tool} {rate(t[tool])}" for tool in TOOLS),
            not f["upstreamed"] or f["recognised"] >= RECOGNISED_RATE * f["upstreamed"],
        ),
        (
            "kept patches carried correctly at least as often as git am -3",
            f"{f['correct']} vs {am['correct']}",
            f["correct"] >= am["correct"],
        ),
        (
            "issue 13: upstreamed recognised at least as often as git am -3 and quilt",
            f"{f['recognised']} vs {best_upstreamed}",
            f["recognised"] >= best_upstreamed,
        ),
        (
            "issue 13: at least as many carried correctly as the best of the two",
            f"{f['correct']} vs {best_carried}",
            f["correct"] >= best_carried,
        ),
    ]


def table(results: list[dict], label: str) -> list[str]:
    """One row per package and a total: of the refreshed patches correct/wrong/not carried, the
    upstreamed ones recognised, kept ones called upstreamed, and the carry's wall (CPU) time."""
    lines = [
        "| package | patches | refreshed | upstreamed | other | forkman | up | !up | s (cpu) "
        "| git am -3 | up | !up | s (cpu) | quilt | up | !up | s (cpu) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    total = {tool: [0.0, 0.0] for tool in TOOLS}

    def cells_of(name: str, rows: list[dict], n: int, times: dict[str, list[float]]) -> list[str]:
        t = {tool: tally(rows, tool) for tool in TOOLS}
        base = t["forkman"]
        cells = [name, str(n), str(base["refreshed"]), str(base["upstreamed"])]
        cells.append(str(n - base["refreshed"] - base["upstreamed"]))
        for tool in TOOLS:
            x = t[tool]
            cells += [f"{x['correct']}/{x['wrong']}/{x['not carried']}", str(x["recognised"])]
            cells.append(str(x["called upstreamed"]))
            wall, cpu = times[tool]
            cells.append(f"{wall:.2f} ({cpu:.2f})")
        return cells

    every: list[dict] = []
    for r in results:
        every += r["rows"]
        times = {
            tool: [r["seconds"][tool], r.get("cpu_seconds", {}).get(tool, 0.0)] for tool in TOOLS
        }
        for tool in TOOLS:
            total[tool] = [total[tool][0] + times[tool][0], total[tool][1] + times[tool][1]]
        cells = cells_of(r["package"], r["rows"], r["patches"], times)
        if r.get("timed_out"):
            cells[8] += " timed out"
        lines.append("| " + " | ".join(cells) + " |")
    cells = cells_of(label, every, len(every), total)
    lines.append("| " + " | ".join(f"**{c}**" for c in cells) + " |")
    return lines


def targets_table(rows: list[dict]) -> list[str]:
    lines = ["| target | measured | |", "|---|---|---|"]
    return lines + [
        f"| {label} | {value} | {'PASS' if ok else 'FAIL'} |" for label, value, ok in targets(rows)
    ]


def text_report(results: list[dict], info: dict, failures: dict[str, str] | None = None) -> str:
    m = info["machine"]
    every = [row for r in results for row in r["rows"]]
    lines = [
        (
            f"bookworm -> trixie, {len(results)} packages; {m['cores']} cores, {m['git']}, "
            f"Python {m['python']}, {m['date']}; forkman side by "
            + (results[0]["import"] if results else "-")
        ),
        "",
        "correct/wrong/not carried: of the patches kept only refreshed; up: dropped upstreamed,"
        " recognised (likely-upstreamed included); !up: kept patches called upstreamed",
        "",
    ]
    for label, names in (("tuned", PACKAGES), ("held out", HELDOUT)):
        part = [r for r in results if r["package"] in names]
        if part and len(part) < len(results):
            lines += [f"{label}:", "", *table(part, label), "", *targets_table(
                [row for r in part for row in r["rows"]]), ""]  # fmt: skip
    lines += table(results, "all")
    imported = sum(r["import_seconds"] for r in results)
    lines += [
        "",
        (
            "s: the carry only, wall (CPU of the processes it started: user+sys), forkman sync "
            "with its --skip runs, git am -3 with its --skip runs, quilt push -a with its "
            f"restarts; building the overlays took forkman {imported:.2f} s in all, untimed for "
            "the others (their input is the series or its commits)."
        ),
    ]
    lines += ["", *targets_table(every)]
    for package, why in (failures or {}).items():
        lines.append(f"\nnot measured: {package}: {why}")
    lines += ["", "Patch by patch (verdict; forkman | git am -3 | quilt):", ""]
    for r in results:
        for row in r["rows"]:
            cells = [
                f"{x['outcome']}"
                + (f" ({x['detail']})" if x["detail"] and x["detail"] != x["outcome"] else "")
                for x in row["tools"].values()
            ]
            lines.append(
                f"- {r['package']} {row['patch']}: {row['verdict']} ({row['how']}); "
                + " | ".join(cells)
            )
    return "\n".join(lines)


def misses(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        for row in r["rows"]:
            f = row["tools"]["forkman"]
            scored = f["outcome"] in (
                "wrong", "not carried", "not recognised", "carried again", "called upstreamed"
            )  # fmt: skip
            # not scored, but a hint for upstreamed detection: its header says upstream has it
            hinted = row["verdict"] == "dropped" and "its header" in row["how"]
            if scored or (hinted and f["claim"] == "failed"):
                others = "; ".join(f"{tool}: {row['tools'][tool]['outcome']}" for tool in TOOLS[1:])
                out.append(
                    f"{r['package']} {r['versions']['bookworm']} -> {r['versions']['trixie']} "
                    f"{row['patch']}: {'miss' if scored else 'not scored'}; maintainers {row['verdict']} ({row['how']}); forkman "
                    f"{f['outcome']} ({f['detail']}); {others}"
                )
    return out


def write_misses(path: Path, results: list[dict]) -> None:
    """forkman's misses of this run, replacing those of the same packages from earlier runs."""
    done = {r["package"] for r in results}
    kept = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in kept if line.split(" ", 1)[0] not in done]
    path.write_text("".join(f"{line}\n" for line in sorted(kept + misses(results))))


def package_list(spec: str) -> list[str]:
    """Set names (tuned, heldout, all) and package names, comma-separated, in order, once each."""
    out: list[str] = []
    for word in (w.strip() for w in spec.split(",")):
        for package in SETS.get(word, [word] if word else []):
            if package not in out:
                out.append(package)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--packages",
        default="tuned",
        help="comma-separated packages or sets: tuned (the 12 forkman was tuned on, the "
        "default), heldout (packages it never was), all",
    )
    parser.add_argument("--cache", type=Path, default=Path("/work/data/debian"), help="downloads")
    parser.add_argument("--mirror", help="a Debian archive URL (default: the system's)")
    parser.add_argument(
        "--timeout", type=float, help="seconds for forkman's carry of one package (then stopped)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of tables")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--report",
        action="store_true",
        help="measure nothing: report the results this commit's earlier runs saved in "
        "CACHE/results/COMMIT",
    )
    args = parser.parse_args(argv)
    cache = args.cache.resolve()
    commit = sh(["git", "rev-parse", "--short", "HEAD"], ROOT)[1].strip() or "unknown"
    # one folder per forkman commit: other checkouts' runs share the cache
    saved = cache / "results" / commit
    packages = package_list(args.packages)
    info = {"machine": machine()}
    if args.report:
        results = [
            json.loads((saved / f"{p}.json").read_text())
            for p in packages
            if (saved / f"{p}.json").exists()
        ]
        for r in results:
            r.setdefault("cpu_seconds", r.pop("cpu", {}))  # saved before the key's rename
        print(text_report(results, info))
        return 0
    mirror = args.mirror or system_mirror()
    if not mirror:
        parser.error("no Debian mirror in /etc/apt/sources.list*: pass --mirror URL")
    for tool in ("apt-get", "patch", "quilt"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed (apt-get install -y dpkg-dev quilt)")
    apt = Apt(cache / "apt", mirror)
    apt.update()
    tmp = Path(tempfile.mkdtemp(prefix="forkman-carry-"))
    results, failures = [], {}
    saved.mkdir(parents=True, exist_ok=True)
    try:
        seal(tmp / "home")
        # forkman runs from this tree (PYTHONPATH): compiled first, as an installed package is,
        # so no timed process compiles its modules (PYTHONDONTWRITEBYTECODE would make each one:
        # ~0.1 s CPU a process, once per stop)
        must([sys.executable, "-m", "compileall", "-q", str(ROOT / "forkman")], ROOT)
        for package in packages:
            try:
                result = bench_package(apt, cache, tmp / package, package, args.timeout)
            except (RuntimeError, OSError) as error:
                # one package the mirror or its own series lets down must not cost the others
                failures[package] = " ".join(str(error).split())[:600]
                print(f"not measured {package}: {failures[package]}", file=sys.stderr)
                continue
            result["forkman_commit"] = commit
            (saved / f"{package}.json").write_text(json.dumps(result, indent=1, default=str))
            results.append(result)
            print(f"measured {package}", file=sys.stderr)
        write_misses(cache / "misses.txt", results)
        if args.json:
            print(json.dumps({**info, "packages": results, "not measured": failures}, indent=1,
                             default=str))  # fmt: skip
        else:
            print(text_report(results, info, failures))
        every = [row for r in results for row in r["rows"]]
        return 0 if all(ok for _, _, ok in targets(every)) else 1
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
