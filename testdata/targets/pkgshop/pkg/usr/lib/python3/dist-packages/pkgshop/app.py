"""The Flask application."""

import importlib
import json
import os
import re

from flask import Flask, abort, jsonify, render_template, request
from jinja2 import TemplateNotFound

from pkgshop import catalog

_NAME = re.compile(r"^[a-z_]+$")


def create_app():
    app = Flask(__name__)
    with open(os.path.join(os.path.dirname(__file__), "spec.json"), "rb") as f:
        spec = f.read()

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.get("/openapi.json")
    def openapi():
        return app.response_class(spec, mimetype="application/json")

    @app.get("/items")
    def items():
        try:
            limit = int(request.args.get("limit", "10"))
            return jsonify(catalog.list_items(request.args.get("category"), limit))
        except ValueError as e:
            return jsonify(error=str(e)), 400

    @app.get("/items/<int:item_id>")
    def item(item_id):
        found = catalog.get_item(item_id)
        if found is None:
            return jsonify(error="no such item"), 404
        return jsonify(found)

    @app.post("/orders")
    def orders():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error="a JSON object is expected"), 400
        order, err = catalog.create_order(body)
        if err:
            return jsonify(error=err), 400
        return jsonify(order), 201

    # A template chosen by a path value.
    @app.get("/pages/<page>")
    def page(page):
        if not _NAME.match(page):
            return jsonify(error="bad page name"), 400
        try:
            return render_template(page + ".html", items=catalog.ITEMS)
        except TemplateNotFound:
            return jsonify(error="no such page"), 404

    # An exporter module imported by a query value.
    @app.get("/export")
    def export():
        fmt = request.args.get("format", "json")
        if not _NAME.match(fmt):
            return jsonify(error="bad format"), 400
        try:
            exporter = importlib.import_module("pkgshop.exporters." + fmt)
        except ImportError:
            return jsonify(error="no such format"), 404
        body, mimetype = exporter.export(catalog.ITEMS)
        return app.response_class(body, mimetype=mimetype)

    return app
