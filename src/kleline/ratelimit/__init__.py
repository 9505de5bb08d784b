"""Rate limits per client: a bound on how often one address may try to sign in or open a wallet."""

from kleline.ratelimit.service import SIGN_IN, SIGN_UP, Rate, RateLimited, RateLimits, client_key

__all__ = ["SIGN_IN", "SIGN_UP", "Rate", "RateLimited", "RateLimits", "client_key"]
