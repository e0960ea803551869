"""What a file is, from its content: magic bytes (and, for DOCX, the zip's
table of contents), never the extension or the browser's Content-Type.

Pure functions on a seekable binary file; no app needed.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class FileKind:
    name: str
    label: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileKind("pdf", "PDF", "application/pdf", (".pdf",))
PNG = FileKind("png", "PNG image", "image/png", (".png",))
JPEG = FileKind("jpeg", "JPEG image", "image/jpeg", (".jpg", ".jpeg"))
TIFF = FileKind("tiff", "TIFF image", "image/tiff", (".tif", ".tiff"))
DOCX = FileKind(
    "docx",
    "Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
TEXT = FileKind(
    "text", "Plain text", "text/plain; charset=utf-8", (".txt", ".text", ".csv", ".log", ".md")
)

KINDS = {k.name: k for k in (PDF, PNG, JPEG, TIFF, DOCX, TEXT)}
ALLOWED_LABEL = "PDF, PNG, JPEG, TIFF, DOCX or plain text (UTF-8)"

# Executable formats named in the refusal, so the message says what it saw.
_EXECUTABLES = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "a Linux executable"),
    (b"\xcf\xfa\xed\xfe", "a macOS executable"),
    (b"\xce\xfa\xed\xfe", "a macOS executable"),
    (b"\xfe\xed\xfa\xcf", "a macOS executable"),
    (b"\xfe\xed\xfa\xce", "a macOS executable"),
    (b"\xca\xfe\xba\xbe", "a macOS or Java executable"),
    (b"#!", "a script"),
    (b"\x00asm", "a WebAssembly module"),
)

# C0/C1 control characters and DEL, except tab, newline, form feed and carriage return.
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_ZIP_MAX_MEMBERS = 10_000


class FileTypeError(ValueError):
    """The content is not one of the allowed kinds."""


def sniff(f: BinaryIO) -> FileKind:
    """The kind of file `f` holds (read from the start; leaves `f` at 0)."""
    f.seek(0)
    head = f.read(16)
    f.seek(0)
    if not head:
        raise FileTypeError("the file is empty")
    for magic, what in _EXECUTABLES:
        if head.startswith(magic):
            raise FileTypeError(f"the file is {what}, not a document; allowed: {ALLOWED_LABEL}")
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        _check_docx(f)
        return DOCX
    if _is_text(f):
        return TEXT
    raise FileTypeError(f"this kind of file is not accepted; allowed: {ALLOWED_LABEL}")


def _check_docx(f: BinaryIO) -> None:
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise FileTypeError("the file is a damaged or unsupported zip archive") from err
    finally:
        f.seek(0)
    if len(infos) > _ZIP_MAX_MEMBERS:
        raise FileTypeError("the zip archive has too many entries to be a Word document")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("word/") for n in names):
        raise FileTypeError(
            f"the file is a zip archive, not a Word document; allowed: {ALLOWED_LABEL}"
        )
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FileTypeError("the Word document contains macros (save it as a plain .docx)")


def _is_text(f: BinaryIO) -> bool:
    """Valid UTF-8 throughout, no NULs, no control characters but tab,
    newline, carriage return and form feed."""
    f.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        while chunk := f.read(256 * 1024):
            if not _text_ok(decoder.decode(chunk)):
                return False
        return _text_ok(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        return False
    finally:
        f.seek(0)


def _text_ok(s: str) -> bool:
    return _BAD_TEXT.search(s) is None


def download_name(filename: str, kind: FileKind) -> str:
    """The name a download carries: the uploaded name, with the extension of
    what the file really is appended when it claims to be something else (a
    text file named `x.html` downloads as `x.html.txt`)."""
    lower = filename.lower()
    if any(lower.endswith(ext) for ext in kind.extensions):
        return filename
    return filename + kind.extensions[0]
