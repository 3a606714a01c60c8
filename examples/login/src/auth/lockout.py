"""Account lockout after repeated failed attempts."""

from datetime import datetime, timedelta, timezone

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)


# @spec LOGIN-002
class Lockout:
    def __init__(self):
        self.failures = {}
        self.locked_until = {}

    def is_locked(self, email: str) -> bool:
        until = self.locked_until.get(email)
        return until is not None and until > datetime.now(timezone.utc)

    def record_failure(self, email: str) -> None:
        self.failures[email] = self.failures.get(email, 0) + 1
        if self.failures[email] >= MAX_FAILURES:
            self.locked_until[email] = datetime.now(timezone.utc) + LOCK_DURATION
            self.failures[email] = 0

    def record_success(self, email: str) -> None:
        self.failures.pop(email, None)
