"""The Odoo this Python runs, as the store benchmarks need it: its session
class, the addon's store for it, and Odoo's own filesystem store. Odoo 11
(``.venv``) and Odoo 16+ (``.venv-<series>``) name these differently."""

import benchlib  # noqa: F401  (first: it makes the addon importable the way this Odoo wants)
import odoo.release

MAJOR = odoo.release.version_info[0]
LABEL = "Odoo %s" % odoo.release.series

if MAJOR >= 16:
    from odoo.http import FilesystemSessionStore

    from session_redis.odoo16.store import Odoo16SessionStore as RedisStore
    from session_redis.odoo16.store import RedisSession as Session

    def filesystem_store(folder):
        """Odoo's own store, as ``odoo.http.Application.session_store`` builds it."""
        return FilesystemSessionStore(folder, session_class=Session, renew_missing=True)

else:
    from odoo.http import OpenERPSession as Session
    from werkzeug.contrib.sessions import FilesystemSessionStore

    from session_redis.odoo11.store import Odoo11SessionStore as RedisStore

    def filesystem_store(folder):
        """Odoo 11's own store, as ``odoo.http.Root.session_store`` builds it."""
        return FilesystemSessionStore(folder, session_class=Session)


SAVE_FLAG = RedisStore.save_flag


def mark_for_saving(session):
    """What Odoo does to a session on (almost) every request."""
    setattr(session, SAVE_FLAG, True)
