"""Letters through the API: one for a case, a batch polled to the end, its downloads."""

from __future__ import annotations

import io
import zipfile

from tests.factories import api_headers
from tests.letters.conftest import bulk_cases, pdf_text


def test_generate_a_letter_for_a_case_and_download_it(setup, db_app):
    auth = api_headers(setup.advocate)
    client = db_app.test_client()
    r = client.post(
        f"/api/v1/cases/{setup.case_id}/letters",
        json={"letter_type": "reconsideration"},
        headers=auth,
    )
    assert r.status_code == 201, r.get_json()
    letter = r.get_json()
    assert letter["status"] == "done" and letter["document_id"]
    link = client.get(f"/api/v1/documents/{letter['document_id']}/link", headers=auth).get_json()
    pdf = client.get(
        link["url"].split("advocate.test", 1)[-1] if "advocate.test" in link["url"] else link["url"]
    )
    assert pdf.status_code == 200
    assert "Request for reconsideration" in pdf_text(pdf.data)
    pdf.close()
    listed = client.get(f"/api/v1/cases/{setup.case_id}/letters", headers=auth).get_json()
    assert [x["id"] for x in listed["items"]] == [letter["id"]]
    r = client.post(
        f"/api/v1/cases/{setup.case_id}/letters", json={"letter_type": "poem"}, headers=auth
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "letter_type"


def test_a_batch_is_created_polled_and_downloaded(setup, db_app):
    auth = api_headers(setup.advocate)
    bulk_cases(setup.tenant.id, setup.practice_id, setup.payer_id, 3, lines=1)
    client = db_app.test_client()
    r = client.post(
        "/api/v1/letter-batches",
        headers=auth,
        json={"letter_type": "records_cover", "filters": {"practice_id": [str(setup.practice_id)]}},
    )
    assert r.status_code == 202, r.get_json()
    batch = r.get_json()
    assert batch["total"] == 4  # the setup's case and three more
    # Without Redis the batch renders inline: the first poll sees it finished.
    polled = client.get(f"/api/v1/letter-batches/{batch['id']}", headers=auth).get_json()
    assert polled["progress"]["finished"] and polled["progress"]["done"] == 4
    z = client.get(f"/api/v1/letter-batches/{batch['id']}/download?format=zip", headers=auth)
    assert z.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(z.data)).namelist()) == 4
    z.close()
    r = client.post(
        "/api/v1/letter-batches",
        headers=auth,
        json={"letter_type": "records_cover", "filters": {"colour": "red"}},
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "filters.colour"
