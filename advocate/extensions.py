"""Unbound extensions; create_app binds them."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from advocate.db import Base

MAX_PAGE = 1_000_000
MAX_PER_PAGE = 1_000


class _SQLAlchemy(SQLAlchemy):
    def paginate(self, select, *, page=None, per_page=None, max_per_page=None, **kw):
        """`db.paginate` with `?page=` and `?per_page=` kept in range: a page
        number past any list is an empty page, never an OFFSET the database
        refuses."""
        from flask import has_request_context, request

        if page is None and has_request_context():
            page = request.args.get("page", 1, type=int) or 1
        if page is not None:
            page = min(max(page, 1), MAX_PAGE)
        if per_page is None and has_request_context():
            per_page = request.args.get("per_page", None, type=int)
            max_per_page = max_per_page or MAX_PER_PAGE
        if per_page is not None:
            per_page = max(per_page, 1)
        return super().paginate(
            select, page=page, per_page=per_page, max_per_page=max_per_page, **kw
        )


db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)
