"""One module per feature: each registers a seeder with `tests.isolation.seeder`
that creates one object of every tenant-scoped model it owns for a firm, and
records the route-argument names (e.g. `practice_id`) their ids fill."""
