"""Billing: what the firm earns on its cases and who pays which fees.

Pure calculation modules live here; persistence and Stripe invoicing build on them.
"""
