"""Run as a subprocess by the sweep tests: upload a document (the object is
written, the row flushed) and then die by SIGKILL before the commit.

    python -m tests.documents.upload_then_die '<json settings>'
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys


def main() -> None:
    settings = json.loads(sys.argv[1])
    from advocate import create_app
    from advocate.documents import services
    from advocate.storage import get_storage
    from tenants import tenant_scope
    from tests.documents.conftest import OWNER, register_test_owner

    app = create_app(settings["config"])
    register_test_owner()
    with app.app_context(), tenant_scope(settings["tenant_id"]):
        result = services.upload(
            tenant_id=settings["tenant_id"],
            actor=None,
            owner_type=OWNER,
            owner_id=settings["owner_id"],
            category="eob",
            stream=io.BytesIO(b"%PDF-1.4 written, never recorded\n"),
            filename="lost.pdf",
        )
        assert get_storage().exists(result.document.storage_key)
        print(result.document.storage_key, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # the process dies between the object and the commit


if __name__ == "__main__":
    main()
