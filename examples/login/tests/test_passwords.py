from auth.passwords import hash_password, needs_rehash


# @spec(test) LOGIN-001
def test_hash_uses_cost_12():
    assert hash_password("correct horse").startswith(b"$2b$12$")


# @spec(test) LOGIN-001.2
def test_low_cost_hash_needs_rehash():
    assert needs_rehash(b"$2b$10$abcdefghijklmnopqrstuv")
