"""The floor of a request: a trivial Flask route served by the same gunicorn as the product.

Nothing of crmphase is imported: this measures what Flask, gunicorn and the loopback
connection cost on their own. Served by ``bench/run.py`` as ``gunicorn bench.floor_app:app``.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping():
    return {"ok": True}
