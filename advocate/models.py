"""Imports every model so the metadata (and Alembic) sees the whole schema."""

from advocate.api.models import IdempotencyKey  # noqa: F401
from advocate.associations.models import Association  # noqa: F401
from advocate.audit.models import AuditEvent  # noqa: F401
from advocate.auth.models import ApiToken, AuthSession, RecoveryCode, User  # noqa: F401
from advocate.billing.models import (  # noqa: F401
    FeeLedgerEntry,
    Invoice,
    InvoiceEntry,
    InvoiceLine,
    ProcessedStripeEvent,
    StripeAccount,
    StripeCustomer,
)
from advocate.cases.models import (  # noqa: F401
    Appeal,
    Case,
    CaseCounter,
    CaseEvent,
    Communication,
    Offer,
    Payment,
    SavedFilter,
    ServiceLine,
    SingleCaseAgreement,
)
from advocate.csvimport import ImportStash  # noqa: F401
from advocate.deadlines.case_models import CaseDeadline, DeadlineDigest, NsaDispute  # noqa: F401
from advocate.deadlines.models import ClosureDay, SpecifiedStateLaw  # noqa: F401
from advocate.documents.models import Document  # noqa: F401
from advocate.imports.claims837_models import X12Claim, X12ClaimFile, X12ClaimInterchange  # noqa: F401
from advocate.imports.models import (  # noqa: F401,E501
    ClaimImport,
    HeaderAlias,
    ImportSettings,
    Remittance,
    RemittanceClaim,
    RemittanceTransaction,
    UnmatchedClaim,
)
from advocate.letters.models import Letter, LetterBatch, LetterTemplate, LetterTemplateVersion  # noqa: F401
from advocate.mail import OutboxMessage  # noqa: F401
from advocate.payers.models import Payer, PayerAppealLevel, PayerContact, PayerPolicy  # noqa: F401
from advocate.practices.models import FeeAgreement, Practice, PracticeAuthorization, PracticeContact  # noqa: F401
from advocate.rates.models import CommercialPercentile, LineBenchmark, PfsRvu, PfsYear  # noqa: F401
from advocate.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: F401
from tenants.models import Membership, Tenant  # noqa: F401
from tenants.onboarding.models import Invitation  # noqa: F401
