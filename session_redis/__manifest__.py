{
    "name": "Sessions in Redis",
    "summary": "Share Odoo web sessions across servers by keeping them in Redis",
    "version": "1.2.0",
    "category": "Extra Tools",
    "license": "AGPL-3",
    "author": "session_redis developers",
    "depends": ["base"],
    "external_dependencies": {"python": ["redis"]},
    "data": ["security/ir.model.access.csv", "data/views.xml"],
    "installable": True,
    "post_load": "activate",
}
