"""Isolation seed for webhooks: an endpoint (disabled, so nothing is sent) and a delivery."""

from __future__ import annotations

from advocate.extensions import db
from advocate.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants import tenant_scope
from tests.isolation import Seeded, seeder


@seeder
def _webhooks(s: Seeded) -> None:
    t = s.firm.tenant
    with tenant_scope(t.id):
        ep = WebhookEndpoint(
            tenant_id=t.id,
            url=f"https://{s.marker.lower().replace(' ', '-')}.example/hook",
            secret="whsec_seed",  # noqa: S106 - a seed value, not a secret
            events=["case.created"],
            description=f"{s.marker} endpoint",
            is_active=False,
        )
        db.session.add(ep)
        db.session.flush()
        d = WebhookDelivery(
            tenant_id=t.id,
            endpoint_id=ep.id,
            event_id="evt_seed",
            event_type="case.created",
            payload=f'{{"marker": "{s.marker}"}}',
            status="failed",
            attempts=1,
        )
        db.session.add(d)
        db.session.flush()
        s.add("endpoint_id", ep.id)
        s.add("delivery_id", d.id)
        db.session.commit()
