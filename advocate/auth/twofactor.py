"""TOTP two-factor authentication and one-time recovery codes."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from advocate.auth.models import RecoveryCode, User, token_hash
from advocate.db import utcnow
from advocate.extensions import db

ISSUER = "Advocate"
RECOVERY_CODE_COUNT = 10


def _fernet() -> Fernet:
    # TOTP secrets are encrypted at rest with a key derived from SECRET_KEY.
    key = hashlib.sha256(b"advocate-totp:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return pyotp.random_base32()


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(blob: str) -> str | None:
    try:
        return _fernet().decrypt(blob.encode()).decode()
    except InvalidToken:
        return None


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


CODE_OK, CODE_REUSED, CODE_INVALID = "ok", "reused", "invalid"


def _matching_steps(secret: str, code: str) -> list[int]:
    """The time steps (now, one either way for drift) whose code is `code`."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()) or len(code) != 6:
        return []
    totp = pyotp.TOTP(secret)
    now_step = int(utcnow().timestamp()) // totp.interval
    return [
        step
        for step in (now_step, now_step - 1, now_step + 1)
        if secrets.compare_digest(totp.generate_otp(step), code)
    ]


def check_code(secret: str, code: str, last_step: int | None) -> int | None:
    """Return the matched time step, or None. One step of drift either way;
    a step already used is refused (no replay within its 30 seconds)."""
    for step in _matching_steps(secret, code):
        if last_step is None or step > last_step:
            return step
    return None


def verify_user_code(user: User, code: str) -> str:
    """CODE_OK, CODE_REUSED (right code, but its step was already used) or
    CODE_INVALID. Using a step is one conditional UPDATE, so of concurrent
    log-ins with the same code exactly one wins, on every web process."""
    if not user.totp_secret_enc:
        return CODE_INVALID
    secret = decrypt_secret(user.totp_secret_enc)
    if secret is None:
        return CODE_INVALID
    steps = _matching_steps(secret, code)
    if not steps:
        return CODE_INVALID
    for step in sorted(steps, reverse=True):
        claimed = db.session.execute(
            update(User)
            .where(
                User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step)
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed == 1:
            set_committed_value(user, "totp_last_step", step)
            return CODE_OK
    return CODE_REUSED


def _normalise_recovery(code: str) -> str:
    return (code or "").strip().lower().replace("-", "").replace(" ", "")


def issue_recovery_codes(user: User) -> list[str]:
    db.session.query(RecoveryCode).filter(RecoveryCode.user_id == user.id).delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)  # 40 bits, shown as xxxxx-xxxxx
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=token_hash(raw)))
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    h = token_hash(_normalise_recovery(code))
    row = db.session.scalar(
        db.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == h,
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    # Claimed with a conditional UPDATE, like a TOTP step: used once, even by
    # concurrent log-ins.
    claimed = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
