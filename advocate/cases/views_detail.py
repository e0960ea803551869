"""One case: its page and timeline, and the forms that work it; intake; and
single case agreements."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from advocate.audit.services import audit, audited
from advocate.auth.access import READERS, STAFF, WORKERS, has_role, roles
from advocate.cases import bp, services, workflow
from advocate.cases.forms import (
    APPEAL_LEVEL_LABELS,
    COMM_KIND_LABELS,
    OUTCOME_LABELS,
    PAYMENT_SOURCE_LABELS,
    SCA_RATE_LABELS,
    SCA_STATUS_LABELS,
    SERVICE_TYPE_LABELS,
    TRANSITION_LABELS,
    AppealDecisionForm,
    AppealForm,
    CaseForm,
    CommunicationForm,
    NegotiationForm,
    NoteForm,
    OfferForm,
    PaymentForm,
    ScaForm,
    ScaLinkForm,
    apply_case_errors,
    apply_errors,
)
from advocate.cases.models import (
    Appeal,
    Case,
    Communication,
    Offer,
    SingleCaseAgreement,
)
from advocate.cases.services import CaseValidationError
from advocate.deadlines.case_services import case_deadlines
from advocate.documents import documents_for, register_owner
from advocate.extensions import db
from advocate.forms import choices
from advocate.ownership import ForeignIdError, require_own
from advocate.payers.defaults import PLAN_TYPES
from advocate.payers.models import Payer
from advocate.practices.models import Practice
from advocate.practices.services import tenant_today
from advocate.practices.validators import PLACES_OF_SERVICE
from tenants.models import WORKER_ROLES, Membership

TIMELINE_PAGE = 25
COMMUNICATIONS_SHOWN = 50

register_owner(
    "case",
    lambda pk: db.session.get(Case, pk),
    lambda c: c.practice_id,
    label="Case",
    detail_url=lambda c: url_for("cases.detail", case_id=c.id),
)
register_owner(
    "sca",
    lambda pk: db.session.get(SingleCaseAgreement, pk),
    lambda s: s.practice_id,
    label="Single case agreement",
    detail_url=lambda s: url_for("cases.sca_detail", sca_id=s.id),
)


# --------------------------------------------------------------------------- helpers


def _today() -> date:
    return tenant_today(g.tenant)


def _zone():
    try:
        return ZoneInfo(g.tenant.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _local(value: datetime | None) -> datetime | None:
    """A UTC timestamp in the firm's time zone, for display."""
    return value.astimezone(_zone()) if value is not None else None


def _url_or_none(endpoint: str, **values) -> str | None:
    # The caseload pages are another part of the cases feature; link to them when present.
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _case_or_404(case_id: int, *, lock: bool = False) -> Case:
    """The case of the firm in scope, with its lines and payments; practice
    users only reach their own practice's cases."""
    q = (
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.lines), selectinload(Case.payments))
    )
    if lock:
        q = q.with_for_update(of=Case)
    case = db.session.scalar(q)
    if case is None:
        abort(404)
    m = g.membership
    if m.is_practice and (m.practice_id is None or case.practice_id != m.practice_id):
        abort(404)
    return case


def _child_or_404(model, child_id: int, case: Case):
    obj = db.session.scalar(select(model).where(model.id == child_id, model.case_id == case.id))
    if obj is None:
        abort(404)
    return obj


def _sca_or_404(sca_id: int) -> SingleCaseAgreement:
    sca = db.session.get(SingleCaseAgreement, sca_id)
    if sca is None:
        abort(404)
    return sca


def _practice_choices(blank: str = "Choose…"):
    rows = db.session.execute(
        select(Practice.id, Practice.name, Practice.npi).order_by(Practice.name)
    ).all()
    return choices([("", blank), *((str(r.id), f"{r.name} · NPI {r.npi}") for r in rows)])


def _payer_choices(blank: str = "Choose…"):
    rows = db.session.execute(select(Payer.id, Payer.name).order_by(Payer.name)).all()
    return choices([("", blank), *((str(r.id), r.name) for r in rows)])


def _worker_choices():
    # Memberships are not ORM-scoped: the tenant filter is explicit.
    rows = db.session.scalars(
        select(Membership).where(
            Membership.tenant_id == g.tenant.id,
            Membership.is_active.is_(True),
            Membership.role.in_(WORKER_ROLES),
        )
    ).all()
    people = sorted(
        ((str(m.user_id), m.user.name or m.user.email) for m in rows), key=lambda p: p[1].lower()
    )
    return choices([("", "Unassigned"), *people])


def _to_utc(value: str | None):
    """A datetime-local value typed in the firm's time zone, in UTC; text that
    does not parse goes to the service as is, which names the problem."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone())
    return parsed.astimezone(UTC)


def _back(case: Case, anchor: str | None = None):
    return redirect(url_for("cases.detail", case_id=case.id, _anchor=anchor), code=303)


# --------------------------------------------------------------------------- the case page


KIND_STYLE = {
    "transition": "is-accent",
    "payment": "is-success",
    "offer": "is-info",
    "appeal": "is-warning",
    "sca": "is-info",
    "document": "",
    "note": "",
    "communication": "",
    "follow_up": "is-success",
    "created": "is-accent",
    "negotiation": "",
}
KIND_LABEL = {
    "transition": "Status",
    "payment": "Payment",
    "offer": "Offer",
    "appeal": "Appeal",
    "sca": "SCA",
    "document": "Document",
    "note": "Note",
    "communication": "Communication",
    "follow_up": "Follow-up",
    "created": "Intake",
    "negotiation": "Negotiation",
    "letter": "Letter",
}


def _timeline(case: Case, *, staff: bool, documents: list):
    """One page of the case's events, with the documents added in the same
    stretch of time merged in, newest first."""
    page = db.paginate(
        services.timeline_query(case.id, include_internal=staff),
        per_page=TIMELINE_PAGE,
        error_out=False,
    )
    entries = [
        {
            "at": e.at,
            "kind": e.kind,
            "summary": e.summary,
            "body": e.body,
            "internal": e.is_internal,
            "actor": e.actor.name if e.actor else None,
            "data": e.data or {},
        }
        for e in page.items
    ]
    newest = page.items[0].at if page.has_prev and page.items else None
    oldest = page.items[-1].at if page.has_next and page.items else None
    for doc in documents:
        if (newest is None or doc.created_at <= newest) and (
            oldest is None or doc.created_at >= oldest
        ):
            entries.append(
                {
                    "at": doc.created_at,
                    "kind": "document",
                    "internal": False,
                    "data": {},
                    "summary": f"Document added: {doc.filename} ({doc.category_label})",
                    "body": doc.note,
                    "actor": doc.uploaded_by.name if doc.uploaded_by else None,
                }
            )
    entries.sort(key=lambda x: x["at"], reverse=True)
    return page, entries


def _next_steps(case: Case) -> list[dict]:
    order = list(workflow.STATES)
    steps = []
    for to in sorted(workflow.allowed(case.status), key=order.index):
        if to == workflow.NSA_OPEN and case.is_nsa_eligible is False:
            continue  # the case's NSA answer is "not eligible": no NSA action to offer
        label = TRANSITION_LABELS.get(to, workflow.STATES[to])
        if to == workflow.APPEAL and case.status == workflow.APPEAL:
            label = "Next appeal level"
        if to == workflow.NEGOTIATING and case.status in workflow.CLOSED:
            label = "Reopen"
        steps.append(
            {
                "to": to,
                "label": label,
                "state": workflow.STATES[to],
                "danger": to in (workflow.CLOSED_LOST, workflow.WITHDRAWN),
            }
        )
    return steps


def _render_case(
    case: Case,
    *,
    status: int = 200,
    forms: dict | None = None,
    action_error: str | None = None,
    transition_to: str | None = None,
    audit_view: bool = False,
):
    m = g.membership
    staff = m.is_staff
    can_work = has_role(*WORKERS)
    comms = list(
        db.session.scalars(
            select(Communication)
            .where(Communication.case_id == case.id)
            .order_by(Communication.occurred_at.desc(), Communication.id.desc())
            .limit(COMMUNICATIONS_SHOWN)
        )
    )
    offers = list(
        db.session.scalars(
            select(Offer)
            .where(Offer.case_id == case.id)
            .order_by(Offer.offered_on.desc(), Offer.id.desc())
        )
    )
    appeals = list(
        db.session.scalars(
            select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.level, Appeal.id)
        )
    )
    documents = documents_for("case", case.id)
    page, timeline = _timeline(case, staff=staff, documents=documents)
    today = _today()
    # Stored deadlines (every change to a fact they count from recomputes them,
    # and the nightly digest refreshes open cases): a page view writes nothing.
    deadlines = case_deadlines(case, today=today, refresh=False).deadlines

    sca = sca_check = None
    sca_used = 0
    if staff and case.sca_id is not None:  # the SCA panel is for firm staff
        sca = db.session.get(SingleCaseAgreement, case.sca_id)
        if sca is not None:
            sca_used = services.sca_visits_used([sca.id])[sca.id]
            sca_check = services.check_sca_rate(case, sca)

    ctx = {
        "case": case,
        "lines": case.lines,
        "payments": case.payments,
        "communications": comms,
        "offers": offers,
        "appeals": appeals,
        "documents": documents,
        "timeline": timeline,
        "page": page,
        "deadlines": deadlines,
        "staff": staff,
        "can_work": can_work,
        "today": today,
        "local": _local,
        "sca": sca,
        "sca_used": sca_used,
        "sca_check": sca_check,
        "open_follow_ups": [c for c in comms if c.follow_up_on and c.follow_up_done_at is None],
        "plan_type_label": PLAN_TYPES.get(case.plan_type, case.plan_type),
        "pos_label": PLACES_OF_SERVICE.get(case.place_of_service, ""),
        "service_type_label": SERVICE_TYPE_LABELS.get(case.service_type, case.service_type),
        "kind_style": KIND_STYLE,
        "kind_label": KIND_LABEL,
        "comm_kinds": COMM_KIND_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "source_labels": PAYMENT_SOURCE_LABELS,
        "appeal_levels": APPEAL_LEVEL_LABELS,
        "rate_labels": SCA_RATE_LABELS,
        "sca_status_labels": SCA_STATUS_LABELS,
        "action_error": action_error,
        "transition_to": transition_to,
        "cases_url": _url_or_none("cases.index"),
    }
    if staff:
        last = services.last_payer_offer(offers)
        ctx["last_payer_offer"] = last
        from advocate.rates.benchmark_views import request_benchmark

        ctx["suggestion"] = services.suggest_counter(
            case, last_payer_offer=last.amount if last else None, bm=request_benchmark(case)
        )
    if can_work:
        forms = forms or {}
        ctx["next_steps"] = _next_steps(case)
        ctx["next_appeal_level"] = min((case.appeal_level or 0) + 1, workflow.MAX_APPEAL_LEVEL)
        comm_form = forms.get("comm") or CommunicationForm(formdata=None, prefix="comm")
        if not comm_form.occurred_at.data:
            comm_form.occurred_at.data = datetime.now(_zone()).strftime("%Y-%m-%dT%H:%M")
        offer_form = forms.get("offer") or OfferForm(formdata=None, prefix="offer")
        if not offer_form.offered_on.data:
            offer_form.offered_on.data = today.isoformat()
        pay_form = forms.get("pay") or PaymentForm(formdata=None, prefix="pay")
        if not pay_form.paid_on.data:
            pay_form.paid_on.data = today.isoformat()
        neg_form = forms.get("neg") or NegotiationForm(formdata=None, prefix="neg")
        if "neg" not in forms:
            neg_form.target_amount.data = (
                "" if case.target_amount is None else str(case.target_amount)
            )
            neg_form.floor_amount.data = "" if case.floor_amount is None else str(case.floor_amount)
        appeal_form = forms.get("appeal") or AppealForm(formdata=None, prefix="appeal")
        if "appeal" not in forms:
            appeal_form.level.data = str(ctx["next_appeal_level"])
        decision_forms = {}
        for a in appeals:
            key = f"appeal{a.id}"
            f = forms.get(key)
            if f is None:
                f = AppealDecisionForm(formdata=None, prefix=key)
                f.outcome.data = a.outcome
                f.decision_on.data = a.decision_on.isoformat() if a.decision_on else ""
                f.filed_on.data = a.filed_on.isoformat() if a.filed_on else ""
                f.method.data = a.method or ""
                f.tracking_number.data = a.tracking_number or ""
                f.amount_awarded.data = "" if a.amount_awarded is None else str(a.amount_awarded)
            decision_forms[a.id] = f
        sca_form = forms.get("sca") or ScaLinkForm(formdata=None, prefix="sca")
        options = db.session.scalars(
            select(SingleCaseAgreement)
            .where(
                SingleCaseAgreement.practice_id == case.practice_id,
                SingleCaseAgreement.payer_id == case.payer_id,
                SingleCaseAgreement.status.in_(services.SCA_OPEN_STATUSES),
            )
            .order_by(SingleCaseAgreement.id.desc())
            .limit(50)
        ).all()
        sca_form.sca_id.choices = choices(
            [
                ("", "None"),
                *(
                    (
                        str(s.id),
                        f"{s.authorization_number or 'SCA #' + str(s.id)} · {SCA_STATUS_LABELS[s.status]}"
                        f" · {s.patient_last_name}, {s.patient_first_name}",
                    )
                    for s in options
                ),
            ]
        )
        if "sca" not in forms:
            sca_form.sca_id.data = str(case.sca_id or "")
        ctx.update(
            comm_form=comm_form,
            offer_form=offer_form,
            pay_form=pay_form,
            neg_form=neg_form,
            appeal_form=appeal_form,
            decision_forms=decision_forms,
            sca_form=sca_form,
            note_form=forms.get("note") or NoteForm(formdata=None, prefix="note"),
            sca_new_url=url_for("cases.sca_new", case_id=case.id),
        )
    if audit_view:
        audit("case.view", case, is_phi=True)
        db.session.commit()
    return render_template("cases/detail.html", **ctx), status


@bp.route("/<int:case_id>")
@roles(READERS)
@audited("case.view", "case", "case_id")
def detail(case_id: int):
    """Show a case: claim, lines, money, negotiation, appeals, contacts and timeline."""
    return _render_case(_case_or_404(case_id))


def _refused(case_id: int, **kw):
    """Roll back whatever the refused action touched and show the page again."""
    db.session.rollback()
    return _render_case(_case_or_404(case_id), status=422, audit_view=True, **kw)


@bp.route("/<int:case_id>/transition", methods=["POST"])
@roles(WORKERS)
def transition(case_id: int):
    """Move the case to another status, if the workflow allows it."""
    case = _case_or_404(case_id, lock=True)
    try:
        services.transition_with_input(case, actor_id=g.actor.id, data=request.form.to_dict())
    except workflow.TransitionError as err:
        return _refused(case_id, action_error=str(err), transition_to=request.form.get("to"))
    db.session.commit()
    flash(f"Moved to {case.status_label}.", "success")
    return _back(case, "next-steps")


def _panel_post(
    case_id: int, form_cls, prefix: str, apply, anchor: str, message: str, *, lock: bool = False
):
    """The shape every case-page form shares: bind, check, call the service,
    commit once; on a refusal, show the page again with the errors in place."""
    case = _case_or_404(case_id, lock=lock)
    form = form_cls(prefix=prefix)
    if not form.validate():
        return _refused(case_id, forms={prefix: form})
    try:
        apply(case, form)
    except CaseValidationError as err:
        db.session.rollback()
        apply_errors(form, err.errors)
        return _refused(case_id, forms={prefix: form})
    except workflow.TransitionError as err:
        form.form_errors.append(str(err))
        return _refused(case_id, forms={prefix: form}, action_error=str(err))
    db.session.commit()
    flash(message, "success")
    return _back(case, anchor)


@bp.route("/<int:case_id>/communications", methods=["POST"])
@roles(WORKERS)
def add_communication(case_id: int):
    """Log a call, letter, fax, email, portal message or meeting with the payer."""

    def apply(case, form):
        data = form.service_data()
        data["occurred_at"] = _to_utc(data.get("occurred_at"))
        services.add_communication(case, actor_id=g.actor.id, data=data)

    return _panel_post(
        case_id, CommunicationForm, "comm", apply, "communications", "Communication logged."
    )


@bp.route("/<int:case_id>/communications/<int:communication_id>/done", methods=["POST"])
@roles(WORKERS)
def complete_follow_up(case_id: int, communication_id: int):
    """Mark a communication's follow-up done."""
    case = _case_or_404(case_id, lock=True)
    comm = _child_or_404(Communication, communication_id, case)
    try:
        services.complete_follow_up(case, comm, actor_id=g.actor.id)
    except CaseValidationError as err:
        return _refused(
            case_id, action_error="; ".join(f"This communication: {m}" for _f, m in err.errors)
        )
    db.session.commit()
    flash("Follow-up done.", "success")
    return _back(case, "communications")


@bp.route("/<int:case_id>/offers", methods=["POST"])
@roles(WORKERS)
def add_offer(case_id: int):
    """Record a payer offer or our counteroffer."""
    return _panel_post(
        case_id,
        OfferForm,
        "offer",
        lambda case, form: services.add_offer(case, actor_id=g.actor.id, data=form.service_data()),
        "negotiation",
        "Offer recorded.",
    )


@bp.route("/<int:case_id>/offers/<int:offer_id>/accept", methods=["POST"])
@roles(WORKERS)
def accept_offer(case_id: int, offer_id: int):
    """Accept an offer: the case settles at its amount."""
    case = _case_or_404(case_id, lock=True)
    offer = _child_or_404(Offer, offer_id, case)
    try:
        services.accept_offer(case, offer, actor_id=g.actor.id)
    except workflow.TransitionError as err:
        return _refused(case_id, action_error=f"The offer cannot be accepted: {err}")
    except CaseValidationError as err:
        return _refused(case_id, action_error="; ".join(f"The offer {m}." for _f, m in err.errors))
    db.session.commit()
    flash(f"Offer accepted: settled at {offer.amount:,.2f}.", "success")
    return _back(case, "negotiation")


@bp.route("/<int:case_id>/negotiation", methods=["POST"])
@roles(WORKERS)
def set_negotiation(case_id: int):
    """Set the firm's target and walk-away floor."""
    return _panel_post(
        case_id,
        NegotiationForm,
        "neg",
        lambda case, form: services.set_negotiation_limits(
            case, actor_id=g.actor.id, data=form.service_data()
        ),
        "negotiation",
        "Target and floor saved.",
    )


@bp.route("/<int:case_id>/appeals", methods=["POST"])
@roles(WORKERS)
def add_appeal(case_id: int):
    """Open an appeal; its deadline comes from the payer's policy."""
    return _panel_post(
        case_id,
        AppealForm,
        "appeal",
        lambda case, form: services.open_appeal(
            case, actor_id=g.actor.id, data=form.service_data(), today=_today()
        ),
        "appeals",
        "Appeal recorded.",
    )


@bp.route("/<int:case_id>/appeals/<int:appeal_id>", methods=["POST"])
@roles(WORKERS)
def decide_appeal(case_id: int, appeal_id: int):
    """Record an appeal's filing details and decision."""
    case = _case_or_404(case_id)
    appeal = _child_or_404(Appeal, appeal_id, case)
    return _panel_post(
        case_id,
        AppealDecisionForm,
        f"appeal{appeal.id}",
        lambda case, form: services.record_appeal_decision(
            case, appeal, actor_id=g.actor.id, data=form.service_data(), today=_today()
        ),
        "appeals",
        "Appeal updated.",
    )


@bp.route("/<int:case_id>/payments", methods=["POST"])
@roles(WORKERS)
def add_payment(case_id: int):
    """Add a payment (or a recoupment) to the case's ledger."""
    return _panel_post(
        case_id,
        PaymentForm,
        "pay",
        lambda case, form: services.record_payment(
            case, actor_id=g.actor.id, data=form.service_data(), today=_today()
        ),
        "payments",
        "Payment recorded.",
        lock=True,
    )


@bp.route("/<int:case_id>/notes", methods=["POST"])
@roles(WORKERS)
def add_note(case_id: int):
    """Add a note to the timeline."""
    return _panel_post(
        case_id,
        NoteForm,
        "note",
        lambda case, form: services.add_note(
            case, actor_id=g.actor.id, body=form.body.data, internal=not form.is_shared.data
        ),
        "timeline",
        "Note added.",
    )


@bp.route("/<int:case_id>/sca", methods=["POST"])
@roles(WORKERS)
def link_sca(case_id: int):
    """Bill the case under a single case agreement (or under none)."""

    def apply(case, form):
        try:
            sca = require_own(
                SingleCaseAgreement,
                form.sca_id.data,
                field="sca_id",
                label="agreement",
                required=False,
            )
        except ForeignIdError as err:
            raise CaseValidationError(err.errors) from None
        services.link_case_to_sca(case, sca, actor_id=g.actor.id)

    return _panel_post(
        case_id, ScaLinkForm, "sca", apply, "sca", "Single case agreement saved.", lock=True
    )


# --------------------------------------------------------------------------- intake


def _intake_form(formdata=None) -> CaseForm:
    form = CaseForm() if formdata is None else CaseForm(formdata=formdata)
    form.practice_id.choices = _practice_choices()
    form.payer_id.choices = _payer_choices()
    form.assignee_id.choices = _worker_choices()
    return form


@bp.route("/new", methods=["GET", "POST"])
@roles(WORKERS)
def new():
    """Open a case for one disputed claim, with its service lines."""
    form = _intake_form()
    summary: list = []
    status = 200
    focus_row = None
    if request.method == "GET":
        form.assignee_id.data = str(g.actor.id)
        for name in ("practice_id", "payer_id"):
            if request.args.get(name, "").isascii() and request.args.get(name, "").isdigit():
                getattr(form, name).data = request.args[name]
    elif request.form.get("more_lines"):
        # "More lines" re-renders the form as typed, with more empty rows.
        focus_row = len(form.lines.entries) + 1
        form.add_rows()
    else:
        data, rows, errors = form.service_data()
        # Checked with the rest by validate_case_input (advocate.ownership).
        data["assignee_id"] = (form.assignee_id.data or "").strip() or None
        try:
            services.validate_case_input(data, today=_today())
        except CaseValidationError as err:
            errors = [*errors, *err.errors]
        if not errors:
            try:
                case = services.create_case(
                    tenant_id=g.tenant.id, actor_id=g.actor.id, data=data, today=_today()
                )
            except CaseValidationError as err:
                db.session.rollback()
                errors = err.errors
            else:
                db.session.commit()
                flash(f"Case {case.reference} opened.", "success")
                return redirect(url_for("cases.detail", case_id=case.id), code=303)
        summary = apply_case_errors(form, errors, rows)
        status = 422
    return render_template(
        "cases/new.html",
        form=form,
        summary=summary,
        focus_row=focus_row,
        cases_url=_url_or_none("cases.index"),
    ), status


# --------------------------------------------------------------------------- single case agreements


@bp.route("/scas")
@roles(STAFF)
@audited("sca.list", "sca")
def sca_index():
    """List the firm's single case agreements."""
    status = request.args.get("status") if request.args.get("status") in SCA_STATUS_LABELS else None
    q = select(SingleCaseAgreement).order_by(SingleCaseAgreement.id.desc())
    if status:
        q = q.where(SingleCaseAgreement.status == status)
    practice_id = request.args.get("practice_id", "")
    if practice_id.isascii() and practice_id.isdigit():
        q = q.where(SingleCaseAgreement.practice_id == int(practice_id))
    page = db.paginate(q, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    used = services.sca_visits_used([s.id for s in page.items])
    return render_template(
        "cases/sca_index.html",
        page=page,
        used=used,
        status=status,
        statuses=SCA_STATUS_LABELS,
        rate_labels=SCA_RATE_LABELS,
        can_work=has_role(*WORKERS),
        filtered=bool(status or (practice_id.isascii() and practice_id.isdigit())),
    )


def _sca_form(formdata=None, *, sca: SingleCaseAgreement | None = None) -> ScaForm:
    form = ScaForm() if formdata is None else ScaForm(formdata=formdata)
    form.practice_id.choices = _practice_choices()
    form.payer_id.choices = _payer_choices()
    docs = documents_for("sca", sca.id) if sca is not None else []
    form.document_id.choices = choices([("", "None yet"), *((str(d.id), d.filename) for d in docs)])
    return form


def _sca_errors(form: ScaForm) -> list[tuple[str, str]]:
    raw = (form.document_id.data or "").strip()
    if raw and raw not in {c.value for c in form.document_id.choices}:
        return [("document_id", "upload the signed agreement on this page first, then choose it")]
    return []


def _sca_data(form: ScaForm) -> dict:
    data = form.service_data()
    if data.get("rate_type") != "fixed":
        data["fixed_rates"] = ""
    if data.get("rate_type") == "fixed":
        data["rate_percent"] = ""
    return data


@bp.route("/scas/new", methods=["GET", "POST"])
@roles(WORKERS)
def sca_new():
    """Record a single case agreement the firm requested or the payer offered."""
    form = _sca_form()
    if request.method == "GET":
        from_case = request.args.get("case_id", "")
        case = (
            db.session.get(Case, int(from_case))
            if (from_case.isascii() and from_case.isdigit())
            else None
        )
        if case is not None:
            form.practice_id.data, form.payer_id.data = str(case.practice_id), str(case.payer_id)
            form.patient_first_name.data, form.patient_last_name.data = (
                case.patient_first_name,
                case.patient_last_name,
            )
            form.patient_dob.data = case.patient_dob.isoformat() if case.patient_dob else ""
            form.member_id.data = case.member_id or ""
            form.codes.data = " ".join(dict.fromkeys(ln.code for ln in case.lines))
            form.starts_on.data = case.service_from.isoformat()
            audit("case.view", case, is_phi=True, details={"for": "sca_new"})
            db.session.commit()
        return render_template("cases/sca_form.html", form=form, sca=None), 200
    errors = _sca_errors(form)
    sca = None
    if not errors:
        try:
            sca = services.create_sca(
                tenant_id=g.tenant.id, actor_id=g.actor.id, data=_sca_data(form), today=_today()
            )
        except CaseValidationError as err:
            db.session.rollback()
            errors = err.errors
    if errors or sca is None:
        apply_errors(form, errors)
        return render_template("cases/sca_form.html", form=form, sca=None), 422
    db.session.commit()
    flash("Single case agreement recorded.", "success")
    return redirect(url_for("cases.sca_detail", sca_id=sca.id), code=303)


def _render_sca(sca: SingleCaseAgreement, *, form: ScaForm | None = None, status: int = 200):
    cases = db.session.scalars(
        select(Case)
        .where(Case.sca_id == sca.id)
        .order_by(Case.service_from, Case.id)
        .options(selectinload(Case.lines), selectinload(Case.payments))
    ).all()
    cache: dict = {}
    checks = {c.id: services.check_sca_rate(c, sca, medicare_cache=cache) for c in cases}
    used = services.sca_visits_used([sca.id])[sca.id]
    if form is None:
        form = _sca_form(sca=sca)
        form.fill_from(sca)
    documents = documents_for("sca", sca.id)
    signed_doc = next((d for d in documents if d.id == sca.document_id), None)
    return render_template(
        "cases/sca_detail.html",
        sca=sca,
        cases=cases,
        checks=checks,
        used=used,
        form=form,
        documents=documents,
        signed_doc=signed_doc,
        can_work=has_role(*WORKERS),
        rate_labels=SCA_RATE_LABELS,
        statuses=SCA_STATUS_LABELS,
    ), status


@bp.route("/scas/<int:sca_id>")
@roles(STAFF)
@audited("sca.view", "sca", "sca_id")
def sca_detail(sca_id: int):
    """Show a single case agreement, its visits used and the claims under it."""
    return _render_sca(_sca_or_404(sca_id))


@bp.route("/scas/<int:sca_id>", methods=["POST"])
@roles(WORKERS)
def sca_update(sca_id: int):
    """Change a single case agreement: its status, terms or signed document."""
    sca = _sca_or_404(sca_id)
    form = _sca_form(sca=sca)
    errors = _sca_errors(form)
    changed: list[str] = []
    if not errors:
        try:
            changed = services.update_sca(
                sca, actor_id=g.actor.id, data=_sca_data(form), today=_today()
            )
        except CaseValidationError as err:
            db.session.rollback()
            errors = err.errors
    if errors:
        sca = _sca_or_404(sca_id)
        form_again = _sca_form(formdata=request.form, sca=sca)
        apply_errors(form_again, errors)
        audit("sca.view", sca, is_phi=True)
        db.session.commit()
        return _render_sca(sca, form=form_again, status=422)
    db.session.commit()
    flash("Saved." if changed else "Nothing changed.", "success" if changed else "info")
    return redirect(url_for("cases.sca_detail", sca_id=sca.id), code=303)
