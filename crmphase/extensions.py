"""Unbound extensions; ``create_app`` binds them."""

from typing import TYPE_CHECKING

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from crmphase.database import Base

db = SQLAlchemy(model_class=Base)

# The base class of every model. At run time it is ``db.Model``, the subclass of ``Base``
# that Flask-SQLAlchemy makes; mypy cannot take a base class from an attribute
# (python/mypy#8603), so it checks the models against ``Base``, the declarative base they
# share.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
login_manager = LoginManager()


def make_limiter() -> Limiter:
    """A rate limiter for one app (``app.extensions["crmphase_limiter"]``).

    One per app rather than one per process: Flask-Limiter keeps its storage and its
    switches on the instance, so a shared instance would let one app's settings leak into
    another's (and two apps in one process would share counters however they are stored).
    """
    return Limiter(key_func=get_remote_address, default_limits=[])
