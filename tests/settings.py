"""The settings the tests load (pyproject.toml): the product's own, as `make run` has them (DEBUG=1).

DEBUG is off by default, so that a server never runs with it by accident; the tests are written for
the development settings derived from it (plain static files, cookies over http, http links).
pytest-django imports this module before any conftest, which is too late to set the variable, and
the real Celery workers and other processes the tests start (tests/workers.py) inherit it from here.
pytest-django still runs each test with settings.DEBUG = False, as it always has.
"""

import os

os.environ["DEBUG"] = "1"

from courseweb.settings import *  # noqa: E402, F403

