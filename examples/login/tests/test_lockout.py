from auth.lockout import Lockout


# @spec(test) LOGIN-002
def test_fifth_failure_locks():
    lockout = Lockout()
    for _ in range(5):
        lockout.record_failure("a@example.com")
    assert lockout.is_locked("a@example.com")
