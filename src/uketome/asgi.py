"""The ASGI application: Django for HTTP, Channels for WebSockets."""

from __future__ import annotations

import gc
import logging
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uketome.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from uketome.portal.cache import MinuteCache  # noqa: E402
from uketome.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": MinuteCache(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

SERVER_PROCESS = os.environ.get("UKETOME_SERVER_PROCESS") == "1"  # set by `uketome serve`

if SERVER_PROCESS:
    from uketome import triage
    from uketome.triage import worker

    # Scoring holds the interpreter lock: it runs in a process of its own, on the other core.
    triage.use(worker.Scorer())
    # Before the first socket: the first child's message must not stall all the others.
    try:
        triage.prepare()
    except Exception:  # the first message tries again (and reports what is wrong)
        logging.getLogger(__name__).exception("triage: the lexicon could not be prepared")

    from uketome.chat import store

    # Chat messages are stored in a process of their own too (chat/store.py).
    chat_store = store.Store()
    store.use(chat_store)
    try:
        chat_store.start()
    except store.StoreFailed:  # the first message tries again
        logging.getLogger(__name__).exception("chat: the store process did not start")

# What is loaded by now (Django, the apps, their modules, the lexicon) lives as long as the
# process: move it out of the collector's reach so full collections in the middle of a
# request stay short.
gc.collect()
gc.freeze()

if SERVER_PROCESS:
    from uketome.chat.hub import hub
    from uketome.core import serving

    serving.start(is_quiet=lambda: not hub.children)
