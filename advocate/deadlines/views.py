"""The NSA calculator, and the firm's closure days and specified state laws."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from advocate.auth.access import MANAGERS, STAFF, roles
from advocate.deadlines import bp, services
from advocate.deadlines.forms import ClosureForm, StateLawForm, TimelineForm
from advocate.deadlines.models import ClosureDay, SpecifiedStateLaw
from advocate.deadlines.nsa import explain
from advocate.deadlines.services import DeadlineError
from advocate.extensions import db
from advocate.practices.validators import US_STATES

# (key, step, counted from) in timeline order; the calculator's result table.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("notice_deadline", "Open negotiation notice due", "received"),
    ("negotiation_ends", "Open negotiation period ends", "notice_sent"),
    ("idr_window_start", "IDR initiation window opens", "notice_sent"),
    ("idr_window_end", "IDR initiation window closes", "notice_sent"),
    ("idre_selection_due", "IDR entity selection due", "initiated"),
    ("offers_due", "Offers due", "selected"),
    ("determination_due", "Determination due", "selected"),
    ("payment_due", "Payment of the award due", "determined"),
    ("cooling_off_ends", "Cooling-off period ends", "determined"),
    ("cooling_off_filing_ends", "Held-back items may be filed through", "determined"),
)


def _field_error(form, err: DeadlineError) -> None:
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = list(field.errors) + [err.message]
    else:
        flash(err.message, "danger")


@bp.route("/nsa")
@roles(STAFF)
def calculator():
    """Compute the NSA timeline from the dates given."""
    tid = g.membership.tenant_id
    form = TimelineForm(formdata=request.args if request.args else None)
    timeline = rules = None
    status = 200
    if "received" in request.args:
        if form.validate():
            try:
                timeline = services.nsa_timeline_for(
                    tid,
                    form.received.data,
                    form.notice_sent.data,
                    form.initiated.data,
                    form.selected.data,
                    form.determined.data,
                    extra_closures=form.extra_closures,
                    use_firm_closures=form.use_firm_closures.data,
                )
            except DeadlineError as err:
                _field_error(form, err)
            else:
                rules = explain(timeline)
        if timeline is None:
            status = 422
    firm_closures = services.calendar_for(tid).closures
    db.session.commit()
    return render_template(
        "deadlines/calculator.html",
        form=form,
        timeline=timeline,
        rules=rules,
        warnings=services.timeline_warnings(timeline) if timeline else [],
        steps=STEPS,
        firm_closure_count=len(firm_closures),
        closures_used=_closures_used(timeline, form, firm_closures),
    ), status


def _closures_used(timeline, form, firm_closures) -> list[tuple[date, str, str]]:
    """Closure days between the first input and the last deadline: (day, reason, source)."""
    if timeline is None:
        return []
    dates = [getattr(timeline, key) for key, _label, _source in STEPS]
    end = max(d for d in dates if d is not None)
    used = {}
    for day in form.extra_closures:
        used[day] = (day, services.EXTRA_CLOSURE_REASON, "given for this calculation")
    if form.use_firm_closures.data:
        for day, reason in firm_closures.items():
            used[day] = (day, reason, "firm closure day")
    return sorted(v for d, v in used.items() if timeline.received <= d <= end)


# --- Closure days -----------------------------------------------------------


def _closures_page(form: ClosureForm, status: int = 200):
    query = (
        select(ClosureDay)
        .options(joinedload(ClosureDay.created_by))
        .order_by(ClosureDay.day.desc(), ClosureDay.id.desc())
    )
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("deadlines/closures.html", form=form, page=page), status


def _closures_changed() -> None:
    """Business days moved: every open case's deadlines are recomputed in the
    background (now, without Redis)."""
    from advocate.deadlines.case_services import enqueue_refresh  # it imports the cases package

    enqueue_refresh(g.membership.tenant_id)


@bp.route("/closures", methods=["GET", "POST"])
@roles(MANAGERS)
def closures():
    """List the firm's closure days and add one."""
    form = ClosureForm()
    if form.validate_on_submit():
        try:
            closure = services.add_closure(
                g.membership.tenant_id, g.actor, form.day.data, form.reason.data
            )
        except DeadlineError as err:
            db.session.rollback()
            _field_error(form, err)
        else:
            db.session.commit()
            _closures_changed()
            flash(f"{closure.day:%A} {closure.day.isoformat()} is now a closure day.", "success")
            return redirect(url_for("deadlines.closures"))
    if request.method == "POST":
        return _closures_page(form, 422)
    return _closures_page(form)


@bp.route("/closures/<int:closure_id>/delete", methods=["POST"])
@roles(MANAGERS)
def delete_closure(closure_id: int):
    """Remove a closure day: it counts as a business day again."""
    closure = db.session.get(ClosureDay, closure_id)
    if closure is None:
        abort(404)
    day = closure.day
    services.remove_closure(g.membership.tenant_id, g.actor, closure)
    db.session.commit()
    _closures_changed()
    flash(f"{day.isoformat()} is no longer a closure day.", "success")
    return redirect(url_for("deadlines.closures"))


# --- Specified state laws ---------------------------------------------------


def _state_laws_page(form: StateLawForm, status: int = 200):
    query = (
        select(SpecifiedStateLaw)
        .options(joinedload(SpecifiedStateLaw.created_by))
        .order_by(SpecifiedStateLaw.state)
    )
    page = db.paginate(query, per_page=current_app.config["PAGE_SIZE"] * 2, error_out=False)
    return render_template(
        "deadlines/state_laws.html", form=form, page=page, state_names=US_STATES
    ), status


@bp.route("/state-laws", methods=["GET", "POST"])
@roles(MANAGERS)
def state_laws():
    """List the states with a specified state law and add one."""
    form = StateLawForm()
    if form.validate_on_submit():
        try:
            law = services.add_state_law(
                g.membership.tenant_id,
                g.actor,
                form.state.data,
                form.citation.data,
                is_emergency_covered=form.is_emergency_covered.data,
                is_facility_covered=form.is_facility_covered.data,
                is_air_ambulance_covered=form.is_air_ambulance_covered.data,
            )
        except DeadlineError as err:
            db.session.rollback()
            _field_error(form, err)
        else:
            db.session.commit()
            flash(f"{US_STATES[law.state]} is on the list.", "success")
            return redirect(url_for("deadlines.state_laws"))
    if request.method == "POST":
        return _state_laws_page(form, 422)
    return _state_laws_page(form)


@bp.route("/state-laws/<int:state_law_id>/delete", methods=["POST"])
@roles(MANAGERS)
def delete_state_law(state_law_id: int):
    """Take a state off the list: its fully insured plans go to federal IDR."""
    law = db.session.get(SpecifiedStateLaw, state_law_id)
    if law is None:
        abort(404)
    state = law.state
    services.remove_state_law(g.membership.tenant_id, g.actor, law)
    db.session.commit()
    flash(f"{US_STATES.get(state, state)} is off the list.", "success")
    return redirect(url_for("deadlines.state_laws"))
