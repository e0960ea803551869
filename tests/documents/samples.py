"""Small real-looking files of each kind (and of kinds we refuse)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf(text: str = "Explanation of benefits") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        + f"% {text}\n".encode()
        + b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 32
        + b"\xff\xd9"
    )


def tiff() -> bytes:
    return b"II*\x00\x08\x00\x00\x00" + b"\x00" * 32


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def docx(extra: dict[str, bytes] | None = None) -> bytes:
    members = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document><w:body><w:p>Appeal</w:p></w:body></w:document>",
    }
    members.update(extra or {})
    return _zip(members)


def plain_zip() -> bytes:
    return _zip({"readme.txt": b"hello"})


def text(body: str = "Call with payer rep, ref 12345.\r\nFollow up in 10 days.\n") -> bytes:
    return body.encode("utf-8")


def windows_exe() -> bytes:
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + b"This program cannot be run in DOS mode."
    )


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
