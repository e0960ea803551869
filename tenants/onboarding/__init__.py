from flask import Blueprint

bp = Blueprint("onboarding", __name__)

from tenants.onboarding import views  # noqa: E402,F401
