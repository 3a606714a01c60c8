"""Per-IP rate limiting of the login endpoint."""

import time
from collections import defaultdict, deque

REQUESTS_PER_MINUTE = 10


# @spec LOGIN-006
class RateLimiter:
    def __init__(self):
        self.requests = defaultdict(deque)

    def allow(self, ip: str) -> bool:
        now = time.monotonic()
        window = self.requests[ip]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= REQUESTS_PER_MINUTE:
            return False
        window.append(now)
        return True
