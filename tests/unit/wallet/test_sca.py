from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.errors import KlelineError, ValidationError
from kleline.money import Money
from kleline.wallet.sca import (
    MAX_FAILURES,
    AuthenticationBlocked,
    AuthGuard,
    Challenge,
    ChallengeExpired,
    ChallengeMismatch,
    ChallengeUsed,
    CodeInvalid,
    Decision,
    ExemptionMode,
    ExemptionPolicy,
    ExemptionState,
    ScaError,
    UnsupportedCurrency,
    Verification,
    assess,
    decide,
    enrol,
    issue_challenge,
    record_challenge_passed,
    record_exempt_payment,
    verify_challenge,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)  # five seconds into a 30-second TOTP step
PAYEE = "mer_shoes"
AMOUNT = Money(4500, "EUR")
MODES: list[ExemptionMode] = ["cumulative", "count"]


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def code_at(moment: datetime) -> str:
    return pyotp.TOTP(SECRET).at(moment)


def challenge(amount: Money = AMOUNT, payee: str = PAYEE) -> Challenge:
    return issue_challenge("cus_1", amount, payee, NOW, "sca_1")


def verify(
    ch: Challenge,
    code: str | None = None,
    *,
    amount: Money | None = None,
    payee: str = PAYEE,
    at: datetime = NOW,
    guard: AuthGuard | None = None,
) -> Verification:
    return verify_challenge(
        ch, SECRET, code_at(at) if code is None else code, amount or ch.amount, payee, at, guard or AuthGuard()
    )


def pay_all(policy: ExemptionPolicy, amounts: list[int]) -> tuple[ExemptionState, list[Decision]]:
    state, decisions = ExemptionState.start("EUR"), []
    for minor in amounts:
        state, decision = decide(policy, state, eur(minor))
        decisions.append(decision)
    return state, decisions


# Exemptions


@pytest.mark.parametrize("mode", MODES)
def test_30_00_eur_is_exempt_and_30_01_is_challenged(mode: ExemptionMode) -> None:
    policy, start = ExemptionPolicy(mode=mode), ExemptionState.start("EUR")
    assert assess(policy, start, eur(3000)) == Decision(True, "exempt")
    assert assess(policy, start, eur(3001)) == Decision(False, "above_single_limit")


def test_in_count_mode_the_sixth_payment_since_the_last_challenge_is_challenged() -> None:
    _, decisions = pay_all(ExemptionPolicy(mode="count"), [100] * 6)
    assert [d.exempt for d in decisions] == [True] * 5 + [False]
    assert decisions[-1].reason == "payment_count_reached"


def test_in_count_mode_the_cumulated_amount_does_not_matter() -> None:
    _, decisions = pay_all(ExemptionPolicy(mode="count"), [3000] * 5)
    assert all(d.exempt for d in decisions)


def test_in_cumulative_mode_the_payment_passing_100_eur_is_challenged() -> None:
    state, decisions = pay_all(ExemptionPolicy(mode="cumulative"), [3000, 3000, 3000, 1001])
    assert [d.exempt for d in decisions] == [True, True, True, False]
    assert decisions[-1].reason == "cumulative_limit_reached"
    assert state == ExemptionState(3, eur(9000))


def test_in_cumulative_mode_reaching_exactly_100_eur_is_still_exempt_and_one_cent_more_is_not() -> None:
    state, decisions = pay_all(ExemptionPolicy(mode="cumulative"), [3000, 3000, 3000, 1000, 1])
    assert [d.exempt for d in decisions] == [True, True, True, True, False]
    assert state.amount_since_challenge == eur(10000)


def test_in_cumulative_mode_the_number_of_payments_does_not_matter() -> None:
    _, decisions = pay_all(ExemptionPolicy(mode="cumulative"), [100] * 12)
    assert all(d.exempt for d in decisions)


@pytest.mark.parametrize("mode", MODES)
def test_passing_a_challenge_starts_the_counters_again(mode: ExemptionMode) -> None:
    policy = ExemptionPolicy(mode=mode)
    state, _ = pay_all(policy, [3000, 3000, 3000, 500, 500])
    assert not assess(policy, state, eur(1000)).exempt
    state = record_challenge_passed(state)
    assert state == ExemptionState.start("EUR")
    assert assess(policy, state, eur(3000)).exempt


def test_only_exempt_payments_are_recorded() -> None:
    policy, start = ExemptionPolicy(), ExemptionState.start("EUR")
    assert decide(policy, start, eur(5000)) == (start, Decision(False, "above_single_limit"))
    assert decide(policy, start, eur(1250)) == (ExemptionState(1, eur(1250)), Decision(True, "exempt"))
    assert record_exempt_payment(start, eur(1250)) == ExemptionState(1, eur(1250))


def test_an_amount_in_another_currency_than_the_policy_is_refused() -> None:
    with pytest.raises(UnsupportedCurrency, match="USD") as caught:
        assess(ExemptionPolicy(), ExemptionState.start("EUR"), Money(1000, "USD"))
    assert caught.value.code == "sca_currency_unsupported"
    with pytest.raises(UnsupportedCurrency):
        assess(ExemptionPolicy(), ExemptionState.start("GBP"), eur(1000))
    with pytest.raises(UnsupportedCurrency):
        record_exempt_payment(ExemptionState.start("EUR"), Money(1000, "USD"))


@pytest.mark.parametrize("minor", [0, -1])
def test_a_payment_that_is_not_positive_is_refused(minor: int) -> None:
    with pytest.raises(ValidationError, match="positive"):
        assess(ExemptionPolicy(), ExemptionState.start("EUR"), eur(minor))


def test_a_policy_from_bad_configuration_is_refused() -> None:
    with pytest.raises(ValidationError, match="mode"):
        ExemptionPolicy(mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="one currency"):
        ExemptionPolicy(cumulative_limit=Money(10000, "USD"))
    with pytest.raises(ValidationError, match="max_payments"):
        ExemptionPolicy(max_payments=0)
    with pytest.raises(TypeError):
        ExemptionPolicy(max_payments=5.0)  # type: ignore[arg-type]


@given(
    mode=st.sampled_from(MODES),
    single=st.integers(1, 5000),
    cumulative=st.integers(1, 20000),
    max_payments=st.integers(1, 8),
    payments=st.lists(st.tuples(st.integers(1, 6000), st.booleans()), max_size=40),
)
def test_exempt_payments_since_the_last_challenge_never_exceed_the_limits_and_are_refused_only_beyond_them(
    mode: ExemptionMode, single: int, cumulative: int, max_payments: int, payments: list[tuple[int, bool]]
) -> None:
    policy = ExemptionPolicy(eur(single), eur(cumulative), max_payments, mode)
    state, exempt_since = ExemptionState.start("EUR"), list[int]()
    for minor, passes_challenge in payments:
        state, decision = decide(policy, state, eur(minor))
        within = minor <= single and (
            sum(exempt_since) + minor <= cumulative if mode == "cumulative" else len(exempt_since) + 1 <= max_payments
        )
        assert decision.exempt == within
        if decision.exempt:
            exempt_since.append(minor)
        elif passes_challenge:  # otherwise the customer gave up: the counters stay as they were
            state, exempt_since = record_challenge_passed(state), []
        assert state == ExemptionState(len(exempt_since), eur(sum(exempt_since)))
        if mode == "cumulative":
            assert sum(exempt_since) <= cumulative
        else:
            assert len(exempt_since) <= max_payments


# Challenges


def test_a_challenge_is_bound_to_its_amount_and_payee_for_five_minutes() -> None:
    ch = challenge()
    assert (ch.customer_id, ch.amount, ch.payee, ch.used) == ("cus_1", eur(4500), PAYEE, False)
    assert ch.expires_at - ch.created_at == timedelta(minutes=5)


def test_a_valid_code_passes_the_challenge_once_and_a_replay_is_refused() -> None:
    first = verify(challenge())
    assert first.ok and first.challenge.used and first.guard.consecutive_failures == 0
    replayed = verify(first.challenge, guard=first.guard)
    assert isinstance(replayed.error, ChallengeUsed) and replayed.error.code == "sca_challenge_used"
    assert replayed.challenge == first.challenge and replayed.guard == first.guard


@pytest.mark.parametrize(
    ("amount", "payee"),
    [(eur(4501), PAYEE), (eur(4499), PAYEE), (Money(4500, "USD"), PAYEE), (eur(4500), "mer_thief")],
)
def test_another_amount_or_payee_is_refused_and_voids_the_challenge(amount: Money, payee: str) -> None:
    refused = verify(challenge(), amount=amount, payee=payee)
    assert isinstance(refused.error, ChallengeMismatch) and refused.error.code == "sca_challenge_mismatch"
    assert refused.challenge.voided and not refused.challenge.used
    assert refused.guard == AuthGuard()
    retried = verify(refused.challenge, at=NOW + timedelta(seconds=30))
    assert isinstance(retried.error, ChallengeMismatch) and not retried.challenge.used


@pytest.mark.parametrize("elapsed", [timedelta(0), timedelta(minutes=4, seconds=59)])
def test_a_challenge_is_valid_until_just_before_five_minutes(elapsed: timedelta) -> None:
    assert verify(challenge(), at=NOW + elapsed).ok


@pytest.mark.parametrize("elapsed", [timedelta(minutes=5), timedelta(minutes=5, microseconds=1), timedelta(hours=1)])
def test_a_challenge_is_refused_from_five_minutes_on(elapsed: timedelta) -> None:
    refused = verify(challenge(), at=NOW + elapsed)
    assert isinstance(refused.error, ChallengeExpired) and refused.error.code == "sca_challenge_expired"
    assert not refused.challenge.used


def test_a_wrong_code_is_refused_and_counted() -> None:
    wrong = "000000" if code_at(NOW) != "000000" else "111111"
    refused = verify(challenge(), wrong)
    assert isinstance(refused.error, CodeInvalid) and refused.error.code == "sca_code_invalid"
    assert refused.guard.consecutive_failures == 1 and not refused.challenge.used
    assert verify(refused.challenge, guard=refused.guard).ok  # the customer may type it again


def test_codes_one_step_early_or_late_pass_but_not_two_steps() -> None:
    step = timedelta(seconds=30)
    assert verify(challenge(), code_at(NOW - step)).ok
    assert verify(challenge(), code_at(NOW + step)).ok
    assert isinstance(verify(challenge(), code_at(NOW - 2 * step)).error, CodeInvalid)
    assert isinstance(verify(challenge(), code_at(NOW + 2 * step)).error, CodeInvalid)


def test_a_code_accepted_for_one_challenge_cannot_pass_another() -> None:
    passed = verify(challenge())
    other = issue_challenge("cus_1", eur(9900), "mer_thief", NOW + timedelta(seconds=10), "sca_2")
    reused = verify(other, code_at(NOW), at=NOW + timedelta(seconds=10), payee="mer_thief", guard=passed.guard)
    assert isinstance(reused.error, CodeInvalid) and reused.guard.consecutive_failures == 1
    later = NOW + timedelta(seconds=30)
    assert verify(other, at=later, payee="mer_thief", guard=reused.guard).ok


def test_five_consecutive_wrong_codes_block_authentication() -> None:
    ch, guard = challenge(), AuthGuard()
    for attempt in range(1, MAX_FAILURES + 1):
        result = verify(ch, "not-a-code", guard=guard)
        ch, guard = result.challenge, result.guard
        assert guard.consecutive_failures == attempt
        expected = AuthenticationBlocked if attempt == MAX_FAILURES else CodeInvalid
        assert type(result.error) is expected
    assert guard.blocked
    blocked = verify(ch, guard=guard)  # a good code changes nothing now
    assert isinstance(blocked.error, AuthenticationBlocked) and blocked.error.code == "sca_blocked"
    assert blocked.guard == guard and not blocked.challenge.used
    assert isinstance(verify(challenge(), guard=guard).error, AuthenticationBlocked)


def test_a_success_before_the_fifth_failure_resets_the_count() -> None:
    guard = AuthGuard(consecutive_failures=MAX_FAILURES - 1)
    passed = verify(challenge(), guard=guard)
    assert passed.ok and passed.guard.consecutive_failures == 0 and not passed.guard.blocked


def test_refusals_that_never_look_at_the_code_do_not_count_as_failures() -> None:
    guard = AuthGuard(consecutive_failures=2)
    used = replace(challenge(), used=True)
    assert verify(used, "x", guard=guard).guard == guard
    assert verify(challenge(), "x", at=NOW + timedelta(minutes=6), guard=guard).guard == guard
    assert verify(challenge(), "x", payee="mer_other", guard=guard).guard == guard


def test_refusals_are_kleline_errors_with_stable_codes() -> None:
    errors = [CodeInvalid, ChallengeExpired, ChallengeUsed, ChallengeMismatch, AuthenticationBlocked]
    assert all(issubclass(e, ScaError) and issubclass(e, KlelineError) for e in errors)
    assert {e.code for e in errors} == {
        "sca_code_invalid",
        "sca_challenge_expired",
        "sca_challenge_used",
        "sca_challenge_mismatch",
        "sca_blocked",
    }


def test_naive_datetimes_and_empty_bindings_are_refused() -> None:
    with pytest.raises(ValidationError, match="naive"):
        issue_challenge("cus_1", eur(4500), PAYEE, NOW.replace(tzinfo=None), "sca_1")
    with pytest.raises(ValidationError, match="naive"):
        verify(challenge(), at=NOW.replace(tzinfo=None))
    with pytest.raises(ValidationError, match="payee"):
        issue_challenge("cus_1", eur(4500), "", NOW, "sca_1")
    with pytest.raises(ValidationError, match="positive"):
        issue_challenge("cus_1", eur(0), PAYEE, NOW, "sca_1")


# Enrolment


def test_the_provisioning_uri_carries_the_issuer_the_account_name_and_the_secret() -> None:
    enrolment = enrol("alice@example.com", issuer="Kleline")
    uri = urlparse(enrolment.provisioning_uri)
    query = parse_qs(uri.query)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/Kleline:alice@example.com"
    assert query["issuer"] == ["Kleline"] and query["secret"] == [enrolment.secret]
    assert len(enrolment.secret) == 32 and set(enrolment.secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    # What the customer's app derives from the URI yields codes that pass.
    app = pyotp.parse_uri(enrolment.provisioning_uri)
    assert isinstance(app, pyotp.TOTP)
    ch = challenge()
    result = verify_challenge(ch, enrolment.secret, app.at(NOW), ch.amount, PAYEE, NOW, AuthGuard())
    assert result.ok


def test_each_enrolment_gets_its_own_secret_which_repr_never_shows() -> None:
    first, second = enrol("alice@example.com"), enrol("alice@example.com")
    assert first.secret != second.secret
    assert first.secret not in repr(first)


@pytest.mark.parametrize(("account_name", "issuer"), [("", "Kleline"), ("a:b", "Kleline"), ("alice", "Kle:line")])
def test_an_account_name_or_issuer_that_would_break_the_uri_is_refused(account_name: str, issuer: str) -> None:
    with pytest.raises(ValidationError):
        enrol(account_name, issuer)
