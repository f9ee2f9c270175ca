"""Settings for the test suite: production settings with test values in the environment.

UKETOME_TEST_DATABASE_URL chooses the database (SQLite in a temporary folder by default;
`make test-postgres` points it at PostgreSQL).
"""

import os
import tempfile

_TEST_DATA = tempfile.mkdtemp(prefix="uketome-test-")

os.environ.update(
    {
        "UKETOME_DEBUG": "false",
        "UKETOME_DATA_DIR": _TEST_DATA,
        "UKETOME_SECRET_KEY": "test-secret-key-that-is-long-enough-for-django-checks-0123",
        # A key made for the tests only.
        "UKETOME_FIELD_ENCRYPTION_KEYS": "8Wv4ZuOVhD1lcN9Wm3U7y4bVQ7GYq0H4L8W7bNm4H2c=",
        "UKETOME_HTTPS": "false",
        "UKETOME_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    }
)
os.environ.pop("UKETOME_REDIS_URL", None)
if os.environ.get("UKETOME_TEST_DATABASE_URL"):
    os.environ["UKETOME_DATABASE_URL"] = os.environ["UKETOME_TEST_DATABASE_URL"]
else:
    os.environ.pop("UKETOME_DATABASE_URL", None)

from uketome.settings import *  # noqa: E402, F403
from uketome.settings import DATABASES, INSTALLED_APPS  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, as in production (WAL, a busy timeout), not Django's shared in-memory
    # database: there, a second thread that writes while another does fails at once
    # ("database table is locked"), and the chat writes on a thread of its own.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_TEST_DATA, "test.sqlite3")}

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
