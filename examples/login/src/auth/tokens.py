"""JWT access tokens."""

from datetime import datetime, timedelta, timezone

import jwt

TOKEN_LIFETIME = timedelta(hours=1)


# @spec LOGIN-005
def issue_token(user_id: str, secret: str) -> str:
    now = datetime.now(timezone.utc)
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + TOKEN_LIFETIME}, secret, algorithm="HS256")


# @spec LOGIN-005.1
def verify_token(token: str, secret: str) -> dict:
    return jwt.decode(token, secret, algorithms=["HS256"])
