"""AWS Signature Version 4 verification for the S3-compatible endpoint, with R2's credentials.

R2 derives S3 credentials from an API token: the access key id is the token's id and the secret
access key is the SHA-256 hex digest of the token value.  Header auth (``Authorization:
AWS4-HMAC-SHA256 ...``) and presigned URLs (``X-Amz-Signature`` in the query) are both verified;
the region must be ``auto`` (R2 also accepts ``us-east-1`` and an empty region as aliases).
"""
import datetime
import hashlib
import hmac
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
REGIONS = ("auto", "us-east-1", "")
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
CLOCK_SKEW = datetime.timedelta(minutes=15)


class S3AuthError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code


def secret_for_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def credentials(store):
    """Every token's S3 key pair: ``[{access_key_id, secret_access_key, account_id}]``."""
    rows = store.connection().execute("SELECT token, id, account_id FROM tokens ORDER BY created_on").fetchall()
    return [{"access_key_id": row["id"], "secret_access_key": secret_for_token(row["token"]),
             "account_id": row["account_id"]} for row in rows]


def _token_by_key(store, access_key_id):
    return store.connection().execute("SELECT * FROM tokens WHERE id = ?", (access_key_id,)).fetchone()


def _uri_encode(value):
    return quote(value, safe="-_.~")


def canonical_query(pairs, skip=()):
    encoded = sorted((_uri_encode(name), _uri_encode(value)) for name, value in pairs if name not in skip)
    return "&".join("%s=%s" % pair for pair in encoded)


def parse_query(raw_query):
    """``[(name, value)]`` URL-decoded, blank values kept (``?uploads`` is ``("uploads", "")``)."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        name, _eq, value = part.partition("=")
        pairs.append((unquote(name.replace("+", "%20")), unquote(value.replace("+", "%20"))))
    return pairs


def signing_key(secret, date, region, service):
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _parse_authorization(header):
    if not header.startswith(ALGORITHM + " "):
        raise S3AuthError(400, "InvalidArgument", "Unsupported Authorization Type; use AWS4-HMAC-SHA256")
    fields = {}
    for item in header[len(ALGORITHM) + 1:].split(","):
        name, _eq, value = item.strip().partition("=")
        fields[name] = value
    if not all(fields.get(name) for name in ("Credential", "SignedHeaders", "Signature")):
        raise S3AuthError(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def verify(store, method, raw_path, raw_query, headers):
    """The token row of a correctly signed request; raises ``S3AuthError`` otherwise.

    Returns ``(token_row, payload_hash)``: the payload hash the signature covers (a hex digest the
    body must match, or one of the UNSIGNED/STREAMING markers)."""
    pairs = parse_query(raw_query)
    query = dict(pairs)
    presigned = "X-Amz-Signature" in query
    if presigned:
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise S3AuthError(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        credential, signed_headers, signature = (query.get("X-Amz-Credential", ""), query.get("X-Amz-SignedHeaders", ""),
                                                 query["X-Amz-Signature"])
        amz_date = query.get("X-Amz-Date", "")
        payload_hash = "UNSIGNED-PAYLOAD"
    else:
        authorization = headers.get("Authorization")
        if not authorization:
            raise S3AuthError(403, "AccessDenied", "Access Denied")
        credential, signed_headers, signature = _parse_authorization(authorization)
        amz_date = headers.get("x-amz-date") or ""
        payload_hash = headers.get("x-amz-content-sha256") or ""
        if not payload_hash:
            raise S3AuthError(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    scope = credential.split("/")
    if len(scope) != 5 or scope[3] != "s3" or scope[4] != "aws4_request":
        raise S3AuthError(400, "AuthorizationHeaderMalformed", "The credential scope %r is malformed." % credential)
    access_key_id, date, region = scope[0], scope[1], scope[2]
    if region not in REGIONS:
        raise S3AuthError(400, "AuthorizationHeaderMalformed",
                          "The authorization header is malformed; Invalid region: region was '%s', expected 'auto'." % region)
    token = _token_by_key(store, access_key_id)
    if token is None:
        raise S3AuthError(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    _check_time(amz_date, query.get("X-Amz-Expires") if presigned else None)
    names = signed_headers.split(";")
    canonical_headers = "".join("%s:%s\n" % (name, " ".join((headers.get(name) or "").split())) for name in names)
    canonical_request = "\n".join((method, raw_path, canonical_query(pairs, skip=("X-Amz-Signature",)),
                                   canonical_headers, signed_headers, payload_hash))
    string_to_sign = "\n".join((ALGORITHM, amz_date, "/".join(scope[1:]),
                                hashlib.sha256(canonical_request.encode()).hexdigest()))
    key = signing_key(secret_for_token(token["token"]), date, region, "s3")
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise S3AuthError(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your secret access key and signing method.")
    return dict(token), payload_hash


def _check_time(amz_date, expires):
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise S3AuthError(403, "AccessDenied", "X-Amz-Date is missing or not in the form YYYYMMDDTHHMMSSZ")
    now = datetime.datetime.now(datetime.timezone.utc)
    if expires is None:
        if abs(now - signed_at) > CLOCK_SKEW:
            raise S3AuthError(403, "RequestTimeTooSkewed",
                              "The difference between the request time and the server's time is too large.")
        return
    try:
        seconds = int(expires)
    except ValueError:
        seconds = -1
    if not 1 <= seconds <= MAX_PRESIGN_SECONDS:
        raise S3AuthError(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be from 1 to 604800 seconds")
    if now > signed_at + datetime.timedelta(seconds=seconds):
        raise S3AuthError(403, "AccessDenied", "Request has expired")
