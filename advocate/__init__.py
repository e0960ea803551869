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

    from advocate import input_guard, jobs, security, storage, web

    security.init_app(app)
    input_guard.init_app(app)  # before the blueprints: it bounds their <int:...> ids
    web.init_app(app)
    jobs.init_app(app)
    storage.init_app(app)

    from advocate.api import bp as api_bp
    from advocate.associations import bp as associations_bp
    from advocate.audit import bp as audit_bp
    from advocate.auth import bp as auth_bp
    from advocate.cases import bp as cases_bp
    from advocate.deadlines import bp as deadlines_bp
    from advocate.deadlines.case_views import bp as nsa_bp
    from advocate.documents import bp as documents_bp
    from advocate.imports import bp as imports_bp
    from advocate.letters import bp as letters_bp
    from advocate.main import bp as main_bp
    from advocate.payers import bp as payers_bp
    from advocate.practices import bp as practices_bp
    from advocate.practices import portal_bp
    from advocate.rates import bp as rates_bp
    from advocate.reports import bp as reports_bp
    from tenants.onboarding import bp as onboarding_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(deadlines_bp)
    app.register_blueprint(nsa_bp)
    app.register_blueprint(practices_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(associations_bp)
    app.register_blueprint(rates_bp)
    app.register_blueprint(payers_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(letters_bp)
    app.register_blueprint(reports_bp)
    from advocate.billing import blueprints as billing_blueprints

    for billing_bp in billing_blueprints():
        app.register_blueprint(billing_bp)

    from advocate import cli

    cli.init_app(app)
    return app
