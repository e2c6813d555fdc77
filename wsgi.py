from crmphase import create_app

app = create_app()
