"""Practices: the provider practices a firm represents (NPI, TIN, address, codes)."""
