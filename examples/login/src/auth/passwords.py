"""Password hashing for the login service."""

import bcrypt

BCRYPT_COST = 12


# @spec LOGIN-001
def hash_password(password: str) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_COST))


# @spec LOGIN-001.2
def needs_rehash(stored_hash: bytes) -> bool:
    cost = int(stored_hash.split(b"$")[2])
    return cost < BCRYPT_COST


def verify_password(password: str, stored_hash: bytes) -> bool:
    return bcrypt.checkpw(password.encode(), stored_hash)
