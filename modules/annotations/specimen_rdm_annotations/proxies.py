"""Proxies to the annotation extension and service of the current app."""

from flask import current_app
from werkzeug.local import LocalProxy

current_annotations = LocalProxy(lambda: current_app.extensions["specimen-annotations"])
current_annotations_service = LocalProxy(lambda: current_annotations.service)
