"""``/api/v1/tokens``: list, create and revoke API tokens."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase.api.fields import PageQuery, page_body, page_schema
from crmphase.auth import loaders, services
from crmphase.auth.policy import Action, authorize, can, current_actor, permission_required
from crmphase.extensions import db

blp = Blueprint("tokens_api", __name__, description="API tokens: yours, or everyone's (CRMO)")


class TokenSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    prefix = ma.fields.String(
        dump_only=True, metadata={"description": "the token's first characters"}
    )
    user_id = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    revoked_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(
        dump_only=True, metadata={"description": "the secret token, shown only in this answer"}
    )


class TokenQuery(PageQuery):
    user_id = ma.fields.Integer(
        load_default=None,
        metadata={"description": "only this user's tokens (CRMO; others always see their own)"},
    )


TokenPage = page_schema(TokenSchema, "TokenPage")


@blp.route("/tokens")
class Tokens(MethodView):
    decorators = [permission_required(Action.TOKEN_OWN)]

    @blp.arguments(TokenQuery, location="query")
    @blp.response(200, TokenPage)
    def get(self, args):
        """Your tokens, newest first; the CRMO sees everyone's. Revoked tokens stay listed."""
        actor = current_actor()
        user_id = args["user_id"] if can(actor, Action.TOKEN_MANAGE_ANY) else actor.id
        query = loaders.token_query(user_id=user_id)
        return page_body(
            db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
        )

    @blp.arguments(TokenSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data):
        """Create a token for yourself. The secret is in this answer only; keep it."""
        token, plain = services.create_own_token(current_actor(), data["name"])
        fields = ("id", "name", "prefix", "user_id", "created_at", "revoked_at")
        return {**{name: getattr(token, name) for name in fields}, "token": plain}


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    decorators = [permission_required(Action.TOKEN_OWN)]

    @blp.response(204)
    def delete(self, token_id):
        """Revoke a token (yours; the CRMO may revoke anyone's). Idempotent."""
        token = loaders.get_token(token_id)
        authorize(Action.TOKEN_OWN, token)
        services.revoke_token(token.id, current_actor())
