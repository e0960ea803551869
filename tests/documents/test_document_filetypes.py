"""File kinds come from content (magic bytes, the DOCX zip's table of
contents, strict UTF-8), never from the name or the browser."""

from __future__ import annotations

import io

import pytest

from advocate.documents.filetypes import (
    DOCX,
    JPEG,
    PDF,
    PNG,
    TEXT,
    TIFF,
    FileTypeError,
    download_name,
    sniff,
)
from tests.documents import samples


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (samples.pdf(), PDF),
        (samples.png(), PNG),
        (samples.jpeg(), JPEG),
        (samples.tiff(), TIFF),
        (b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 16, TIFF),
        (samples.docx(), DOCX),
        (samples.text(), TEXT),
        ("Résumé — naïve café ✓\n\ttabbed\fform feed\n".encode(), TEXT),
        (b"\xef\xbb\xbfwith a byte order mark\n", TEXT),
    ],
)
def test_allowed_kinds_are_recognised_by_content(data, kind):
    f = io.BytesIO(data)
    assert sniff(f) is kind
    assert f.tell() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (samples.windows_exe(), "Windows executable"),
        (samples.elf(), "Linux executable"),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24, "macOS executable"),
        (b"#!/bin/sh\nrm -rf /\n", "script"),
        (samples.plain_zip(), "not a Word document"),
        (samples.docx({"word/vbaProject.bin": b"\x00macro"}), "macros"),
        (b"PK\x03\x04 not really a zip", "damaged"),
        (b"plain text with a NUL \x00 inside", "not accepted"),
        (b"text with an escape \x1b[31m code", "not accepted"),
        (b"latin-1 caf\xe9 is not UTF-8", "not accepted"),
        (b"GIF89a\x01\x00\x01\x00", "not accepted"),
    ],
)
def test_other_content_is_refused_with_a_reason(data, message):
    with pytest.raises(FileTypeError, match=message):
        sniff(io.BytesIO(data))


def test_a_renamed_executable_is_refused_whatever_its_name():
    # The name plays no part: sniff never sees it.
    with pytest.raises(FileTypeError, match="executable"):
        sniff(io.BytesIO(samples.windows_exe()))


def test_text_is_checked_to_the_end_not_just_the_start():
    data = b"a" * (600 * 1024) + b"\x00"
    with pytest.raises(FileTypeError):
        sniff(io.BytesIO(data))


def test_multibyte_characters_split_across_reads_are_fine():
    data = ("é" * (300 * 1024)).encode()
    assert sniff(io.BytesIO(data)) is TEXT


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("eob.pdf", PDF, "eob.pdf"),
        ("EOB.PDF", PDF, "EOB.PDF"),
        ("scan.jpeg", JPEG, "scan.jpeg"),
        ("notes.html", TEXT, "notes.html.txt"),
        ("invoice.pdf", TEXT, "invoice.pdf.txt"),
        ("letter", DOCX, "letter.docx"),
    ],
)
def test_downloads_carry_the_extension_of_what_the_file_is(name, kind, expected):
    assert download_name(name, kind) == expected
