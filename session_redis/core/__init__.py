"""The Redis side of the addon: settings, client, codec, key layout, the
store, its bulk jobs, probes and metrics. Nothing in this package imports
Odoo: each Odoo generation's glue builds on it."""
