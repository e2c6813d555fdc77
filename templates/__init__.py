"""The Jinja templates, installed as ``crmphase.templates`` (found with importlib.resources)."""
