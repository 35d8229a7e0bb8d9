"""Proxy to the ML extension of the current app."""

from flask import current_app
from werkzeug.local import LocalProxy

current_mlmodels = LocalProxy(lambda: current_app.extensions["specimen-mlmodels"])
