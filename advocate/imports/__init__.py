"""Importers for external data files (X12 835 remittance advice, ...)."""
