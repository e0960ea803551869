"""Rates: Medicare Physician Fee Schedule files and pricing."""
