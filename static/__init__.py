"""The stylesheets, scripts and images, installed as ``crmphase.static``."""
