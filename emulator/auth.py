"""Bearer-token authentication with Cloudflare's status codes and error codes."""
from emulator.envelope import ApiError

MISSING_CREDENTIALS = 9106
INVALID_HEADERS = 6003
INVALID_AUTHORIZATION_FORMAT = 6111
AUTHENTICATION_ERROR = 10000


def authenticate(store, headers, account_id=None):
    """The caller's token row; raises the API error Cloudflare would return.

    ``account_id`` is the path's account: a token limited to another account, or an account that
    does not exist, gets 403 (Cloudflare does not reveal which accounts exist).
    """
    authorization = headers.get("Authorization")
    if not authorization:
        raise ApiError(400, MISSING_CREDENTIALS, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    scheme, _space, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(400, INVALID_HEADERS, "Invalid request headers",
                       more=[(INVALID_AUTHORIZATION_FORMAT, "Invalid format for Authorization header")])
    row = store.find_token(token)
    if row is None:
        raise ApiError(401, AUTHENTICATION_ERROR, "Authentication error")
    if account_id is not None:
        limited_to = row["account_id"]
        if (limited_to is not None and limited_to != account_id) or not store.account_exists(account_id):
            raise ApiError(403, AUTHENTICATION_ERROR, "Authentication error")
    return row
