"""Run localstripe without its on-disk store (``/tmp/localstripe.pickle`` is
shared by every process on the machine): ``python -m tests.stripe_server.run_localstripe --port N --from-scratch``."""

from __future__ import annotations

import localstripe.resources as resources

resources.Store.dump_to_disk = lambda self: None  # memory only

from localstripe.server import start  # noqa: E402

if __name__ == "__main__":
    start()
