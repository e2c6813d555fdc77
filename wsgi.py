"""What gunicorn serves: ``gunicorn wsgi:app``."""

from crmphase import create_app

app = create_app()
