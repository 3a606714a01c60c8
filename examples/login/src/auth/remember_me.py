"""The remember-me cookie (see LOGIN-004)."""

REMEMBER_ME_DAYS = 30


def remember_me_cookie(token: str) -> dict:
    return {
        "value": token,
        "max_age": REMEMBER_ME_DAYS * 24 * 3600,
        "secure": True,
        "httponly": True,
        "samesite": "Lax",
    }
