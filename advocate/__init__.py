"""Advocate: the workspace of medical billing advocacy firms.

`create_app` is a table of contents: settings, extensions, tenancy, security,
then one blueprint per feature.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from advocate import config as config_module


def create_app(config: dict | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder="static",
        instance_relative_config=True,
    )
    app.config.update(config_module.load(Path(app.instance_path)))
    if config:
        app.config.update(config)

    from advocate import models  # noqa: F401  (every model on the metadata)
    from advocate.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(root / "migrations"), compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from tenants import scoping

    with app.app_context():
        scoping.install(db)

    from advocate import jobs, security, web

    security.init_app(app)
    web.init_app(app)
    jobs.init_app(app)

    from advocate.api import bp as api_bp
    from advocate.audit import bp as audit_bp
    from advocate.auth import bp as auth_bp
    from advocate.main import bp as main_bp
    from tenants.onboarding import bp as onboarding_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(api_bp)

    from advocate import cli

    cli.init_app(app)
    return app
