"""DEP-3 and format-patch headers, quilt series files and overlay names, on plain text."""

from __future__ import annotations

import re

import pytest

from forkman.core.dep3 import SeriesError, parse_header, parse_series
from forkman.core.names import is_valid, name_all, overlay_name


def test_dep3_fields_every_one_kept_and_a_multi_line_description() -> None:
    header = parse_header(
        "Description: Fix the frobnicator\n"
        " The frobnicator overflowed on long input.\n"
        " .\n"
        " This caps it.\n"
        "Author: Jane Doe <jane@example.org>\n"
        "Origin: upstream, https://example.org/commit/1234\n"
        "Bug: https://example.org/bugs/7\n"
        "Bug-Debian: https://bugs.debian.org/123456\n"
        "Bug-Ubuntu: https://launchpad.net/bugs/9\n"
        "Forwarded: https://example.org/mr/3\n"
        "Applied-Upstream: 2.1, https://example.org/commit/abcd\n"
        "Reviewed-By: Rev Iewer <rev@example.org>\n"
        "Last-Update: 2024-03-01\n"
        "---\n"
        "This patch header follows DEP-3: http://dep.debian.net/deps/dep3/\n"
    )
    assert header.subject == "Fix the frobnicator"
    assert header.body == "The frobnicator overflowed on long input.\n\nThis caps it."
    assert header.author == "Jane Doe <jane@example.org>"
    assert [k for k, _ in header.fields] == [
        "Origin",
        "Bug",
        "Bug-Debian",
        "Bug-Ubuntu",
        "Forwarded",
        "Applied-Upstream",
        "Reviewed-By",
        "Last-Update",
    ]
    assert header.field("applied-upstream") == "2.1, https://example.org/commit/abcd"


def test_dep3_subject_and_from_aliases_and_free_text_before_the_diff() -> None:
    header = parse_header(
        "Subject: use the system zlib\nFrom: A B <a@b>\nForwarded: not-needed\n\n"
        "Some free text explaining more.\n"
    )
    assert (header.subject, header.author) == ("use the system zlib", "A B <a@b>")
    assert header.body == "Some free text explaining more."
    assert header.fields == (("Forwarded", "not-needed"),)


def test_free_text_only_first_line_is_the_subject() -> None:
    header = parse_header("Fix build with gcc 14\n\nIt needs an include.\n")
    assert header.subject == "Fix build with gcc 14"
    assert header.body == "It needs an include."
    assert parse_header("").subject == ""


def test_format_patch_mail_with_dep3_fields_in_its_body() -> None:
    header = parse_header(
        "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
        "From: =?UTF-8?q?J=C3=B6rg=20M?= <j@example.org>\n"
        "Date: Tue, 5 Mar 2024 10:00:00 +0100\n"
        "Subject: [PATCH 2/7] Do not crash on empty\n"
        " input files\n"
        "\n"
        "An empty file made it read past the end.\n"
        "Bug-Debian: https://bugs.debian.org/1\n"
        "\n"
        "Forwarded: no\n"
        "Last-Update: 2024-03-05\n"
        "\n"
        "Signed-off-by: J M <j@example.org>\n"
        "---\n"
        " src/a.c | 2 +-\n"
        " 1 file changed\n"
    )
    assert header.subject == "Do not crash on empty input files"
    assert header.author == "Jörg M <j@example.org>"
    assert header.body == (
        "An empty file made it read past the end.\n\nSigned-off-by: J M <j@example.org>"
    )
    assert header.fields == (
        ("Date", "Tue, 5 Mar 2024 10:00:00 +0100"),
        ("Bug-Debian", "https://bugs.debian.org/1"),
        ("Forwarded", "no"),
        ("Last-Update", "2024-03-05"),
    )


def test_series_with_comments_levels_and_reverse() -> None:
    entries, trailing = parse_series(
        "# upstream fixes\n"
        "fix-a.patch\n"
        "\n"
        "# ours\n"
        "debian/ours.diff -p0\n"
        "old.patch -p 2 -R   # undone later\n"
        "# the end\n"
    )
    assert [(e.name, e.strip, e.reverse) for e in entries] == [
        ("fix-a.patch", 1, False),
        ("debian/ours.diff", 0, False),
        ("old.patch", 2, True),
    ]
    assert entries[0].comments == ("# upstream fixes",)
    assert entries[1].comments == ("# ours",)
    assert entries[2].comments == ("# undone later",)
    assert entries[2].line == 6
    assert trailing == ("# the end",)
    with pytest.raises(SeriesError, match="line 1"):
        parse_series("a.patch extra\n")


@pytest.mark.parametrize(
    ("source", "name", "said"),
    [
        ("fix-thing.patch", "fix-thing", []),
        ("loader-symlink", "loader-symlink", []),
        ("01_Fix Build.diff", "01_fix-build", ["lowercased", "' ' became '-'"]),
        ("debian/sub/x.patch", "debian-sub-x", ["'/' became '-'"]),
        ("0001-Fix.patch", "0001-fix", ["lowercased"]),
        ("Ünïcode (v2).patch", "unicode-v2", ["accents dropped", "' (', ')' became '-'"]),
        ("--weird--", "weird", ["leading or trailing"]),
        ("a..b", "a-b", ["'..' became '-'"]),
        ("db.lock", "db-lock", ["'-lock'"]),
        ("!!!", "patch", ["called 'patch'"]),
    ],
)
def test_overlay_names_are_valid_and_say_how(source: str, name: str, said: list[str]) -> None:
    naming = overlay_name(source)
    assert naming.name == name and is_valid(naming.name)
    text = "; ".join(naming.reasons)
    for words in said:
        assert words in text, text
    assert naming.renamed == bool(said)


def test_names_stay_unique_and_short_and_format_patch_numbers_go() -> None:
    namings = name_all(
        ["0001-Fix-it.patch", "0002-Fix-it.patch", "0003-x" + "y" * 200 + ".patch"],
        taken={"llm-models"},
        drop_number=True,
    )
    assert [n.name for n in namings][:2] == ["fix-it", "fix-it-2"]
    assert "'-2' added: 'fix-it' is taken" in namings[1].reasons
    assert len(namings[2].name) == 100 and is_valid(namings[2].name)
    assert overlay_name("llm-models", {"llm-models"}).name == "llm-models-2"
    assert all(re.fullmatch(r"[a-z0-9._-]+", n.name) for n in namings)
