"""What gunicorn serves: ``gunicorn wsgi:app``. It never starts a scheduler."""

from crmphase import create_app

app = create_app()
