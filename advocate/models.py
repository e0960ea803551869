"""Imports every model so the metadata (and Alembic) sees the whole schema."""

from advocate.audit.models import AuditEvent  # noqa: F401
from advocate.auth.models import ApiToken, AuthSession, RecoveryCode, User  # noqa: F401
from advocate.mail import OutboxMessage  # noqa: F401
from tenants.models import Membership, Tenant  # noqa: F401
from tenants.onboarding.models import Invitation  # noqa: F401
