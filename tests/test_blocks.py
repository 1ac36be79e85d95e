"""Block checks read our blocks and upstream's with `ast`; `forkman blocks new` scaffolds a fresh one."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from app_setup import forkman
from helpers import BLOCKS, OUR_BLOCK, make_app

from forkman.autogpt.blocks import check_blocks, class_name, new_block, read_ids
from forkman.errors import ForkmanError
from forkman.store.project import Project

UPSTREAM_ID = (
    "1ff065e9-88e8-4358-9d82-8dc91f622ba9"  # StoreValueBlock in the example's blocks/basic.py
)

REF = "autogpt-platform-beta-v0.6.10"


@pytest.fixture
def app(upstream: Path, app_repo: Path) -> Project:
    return make_app(app_repo, upstream, (), ref=REF, blocks=True)


def add_block(project: Project, name: str, block_id: str, cls: str = "CopyBlock") -> Path:
    path = project.root / "blocks/customized" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = OUR_BLOCK.replace("0b5a43e4-0c4e-4d0a-9a8e-3f2c1f1f9e11", block_id).replace(
        "GreetBlock", cls
    )
    path.write_text(text)
    return path


def flagged(project: Project) -> set[tuple[str, int]]:
    return {(f.file, f.line) for f in check_blocks(project)}


def test_our_blocks_pass_and_our_linked_folder_is_not_counted_as_upstream(app: Project) -> None:
    link = app.checkout / BLOCKS / "customized"
    assert link.is_symlink() and (link / "greet.py").read_text() == OUR_BLOCK
    assert check_blocks(app) == ()


def test_a_block_that_copies_an_upstream_id_is_refused(app: Project, tmp_path: Path) -> None:
    add_block(app, "copied.py", UPSTREAM_ID)
    findings = check_blocks(app)
    assert {(f.file, f.line) for f in findings} == {("blocks/customized/copied.py", 7)}
    assert f"{app.config.path}/{BLOCKS}/basic.py" in findings[0].message

    run = forkman(["blocks", "check"], app.root, tmp_path)
    assert run.returncode == 1
    assert run.stdout.startswith("blocks/customized/copied.py:7: ")


def test_without_a_checkout_only_our_own_blocks_are_compared(app: Project) -> None:
    add_block(app, "copied.py", UPSTREAM_ID)
    add_block(app, "twin.py", UPSTREAM_ID, cls="TwinBlock")
    shutil.rmtree(app.checkout)
    findings = check_blocks(app, with_upstream=False)
    assert [(f.file, f.line) for f in findings] == [("blocks/customized/twin.py", 7)]
    assert "blocks/customized/copied.py:7" in findings[0].message


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "1FF065E9-88E8-4358-9D82-8DC91F622BA9", f"{{{uuid.uuid4()}}}", ""]
)
def test_an_invalid_uuid_is_refused(app: Project, bad_id: str) -> None:
    add_block(app, "odd.py", bad_id)
    assert flagged(app) == {("blocks/customized/odd.py", 7)}


@pytest.mark.parametrize("name", ["MyBlock.py", "my-block.py", "Sub/thing.py", "sub-dir/thing.py"])
def test_a_module_path_the_loader_refuses_is_flagged(app: Project, name: str) -> None:
    add_block(app, name, str(uuid.uuid4()))
    assert flagged(app) == {(f"blocks/customized/{name}", 0)}


def test_test_modules_and_init_files_are_not_loaded_so_their_names_do_not_matter(
    app: Project,
) -> None:
    (app.root / "blocks/customized/test_Greet.py").write_text("def test_it():\n    pass\n")
    assert check_blocks(app) == ()


def test_a_file_that_does_not_parse_is_flagged(app: Project) -> None:
    (app.root / "blocks/customized/broken.py").write_text("class BrokenBlock(Block:\n")
    assert flagged(app) == {("blocks/customized/broken.py", 1)}


def test_read_ids_finds_the_literal_passed_to_super_init_of_block_classes() -> None:
    source = """
class Helper:
    def __init__(self):
        super().__init__(id="not-a-block")

class ABlock(Block):
    def __init__(self):
        super().__init__(
            description="a",
            id="11111111-1111-4111-8111-111111111111",
        )

class BBlock(Block):
    ID = "x"
    def __init__(self):
        super().__init__(id=self.ID)

class BaseBlock(Block):
    pass
"""
    ids = read_ids(source)
    assert [(b.cls, b.line, b.id) for b in ids] == [
        ("ABlock", 10, "11111111-1111-4111-8111-111111111111"),
        ("BBlock", 16, None),
    ]


def test_blocks_new_scaffolds_a_block_with_a_fresh_id_that_passes_and_compiles(
    app: Project, tmp_path: Path
) -> None:
    run = forkman(["blocks", "new", "word_count"], app.root, tmp_path)
    assert run.returncode == 0, run.stderr
    path = app.root / "blocks/customized/word_count.py"
    text = path.read_text()
    compile(text, str(path), "exec")
    (block,) = read_ids(text)
    assert block.cls == "WordCountBlock" and uuid.UUID(block.id or "").version == 4
    assert check_blocks(app) == ()
    second = new_block(app, "word_count_two")
    assert read_ids(second.read_text())[0].id != block.id


def test_blocks_new_refuses_to_overwrite_and_bad_names(app: Project, tmp_path: Path) -> None:
    new_block(app, "greeter")
    before = (app.root / "blocks/customized/greeter.py").read_bytes()
    run = forkman(["blocks", "new", "greeter"], app.root, tmp_path)
    assert run.returncode == 2
    assert (app.root / "blocks/customized/greeter.py").read_bytes() == before
    for bad in ("WordCount", "word-count", "1word", "class", "test_word", "../evil"):
        with pytest.raises(ForkmanError):
            new_block(app, bad)
    assert (
        not list(app.root.glob("blocks/customized/[Wwc1t]*.py"))
        and not (app.root / "blocks/evil.py").exists()
    )


def test_class_names_do_not_repeat_block() -> None:
    assert class_name("word_count") == "WordCountBlock"
    assert class_name("fetch_block") == "FetchBlock"


def test_a_generic_app_linking_ordinary_python_gets_no_autogpt_findings(
    app: Project, tmp_path: Path
) -> None:
    """Without `blocks:` in forkman.yaml a linked folder is just files: no block checks run."""
    config = app.config_path
    config.write_text(config.read_text().replace("blocks:\n  - blocks/customized\n", ""))
    (app.root / "blocks/customized/Settings-Loader.py").write_text(
        "class ConfigBlock:\n    def __init__(self):\n        super().__init__(id='not-a-uuid')\n"
    )
    guarded = forkman(["guard"], app.root, tmp_path)
    assert guarded.returncode == 0, guarded.stdout + guarded.stderr
    assert guarded.stdout == ""

    run = forkman(["blocks", "check"], app.root, tmp_path)
    assert run.returncode == 2 and "blocks:" in run.stderr


def test_the_same_folder_named_under_blocks_is_checked_by_the_guard(
    app: Project, tmp_path: Path
) -> None:
    (app.root / "blocks/customized/Settings-Loader.py").write_text("x = 1\n")
    run = forkman(["guard"], app.root, tmp_path)
    assert run.returncode == 1
    assert run.stdout.startswith("blocks/customized/Settings-Loader.py: ")


def test_a_blocks_folder_that_is_not_linked_is_a_config_error(app: Project, tmp_path: Path) -> None:
    config = app.config_path
    config.write_text(config.read_text().replace("  - blocks/customized\n", "  - blocks/other\n"))
    run = forkman(["guard"], app.root, tmp_path)
    assert run.returncode == 2 and "blocks/other" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
