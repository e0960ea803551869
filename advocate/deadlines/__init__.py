"""Deadline rules: business-day calendars and the statutory timelines built on them."""
