"""Advocate: the workspace of medical billing advocacy firms.

`create_app` is a table of contents: settings, extensions, tenancy, security,
then one blueprint per feature.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from advocate import config as config_module


def _trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto from exactly PROXY_HOPS proxies, so rate
    limits, audit IPs and `request.is_secure` see the real client; with 0 (the
    default) no forwarded header is believed: a client cannot spoof them."""
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
        )


def resource_dirs() -> tuple[Path, Path]:
    """(templates, migrations): bundled inside an installed wheel (setup.py
    copies them), else at the top of the checkout."""
    package = Path(__file__).resolve().parent
    bundle = package / "_bundle"
    base = bundle if (bundle / "templates").is_dir() else package.parent
    return base / "templates", base / "migrations"


def create_app(config: dict | None = None) -> Flask:
    templates, migrations = resource_dirs()
    app = Flask(
        __name__,
        template_folder=str(templates),
        static_folder="static",
        instance_relative_config=True,
    )
    app.config.update(config_module.load(Path(app.instance_path)))
    if config:
        app.config.update(config)
    _trust_proxies(app)

    from advocate import logs

    logs.init_app(app)

    from advocate import errors

    errors.init_app(app)

    from advocate import models  # noqa: F401  (every model on the metadata)
    from advocate.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(migrations), compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from tenants import scoping

    with app.app_context():
        scoping.install(db)

    from advocate import mail

    mail.install()

    from advocate.webhooks import services as webhook_services

    webhook_services.install()

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
    from advocate.imports.claims837_views import bp as claims837_bp
    from advocate.letters import bp as letters_bp
    from advocate.main import bp as main_bp
    from advocate.payers import bp as payers_bp
    from advocate.practices import bp as practices_bp
    from advocate.practices import portal_bp
    from advocate.rates import bp as rates_bp
    from advocate.reports import bp as reports_bp
    from advocate.webhooks import bp as webhooks_bp
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
    app.register_blueprint(claims837_bp)
    app.register_blueprint(letters_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(webhooks_bp)
    from advocate.billing import blueprints as billing_blueprints

    for billing_bp in billing_blueprints():
        app.register_blueprint(billing_bp)

    from advocate import cli

    cli.init_app(app)
    return app
