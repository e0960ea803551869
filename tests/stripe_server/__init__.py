"""Local Stripe-compatible servers for the billing tests: localstripe (PyPI)
for customers, and ``fake`` for what localstripe lacks (one-off invoices,
finalize/send/void/mark uncollectible, Connect accounts and account links).
``fake`` fronts localstripe: what it does not serve it forwards there."""
