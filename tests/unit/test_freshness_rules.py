"""Pure rules of keeping cards fresh: when an issue has come back; the ignore dialog's input."""

from datetime import UTC, datetime

from bot.card.state import comeback as shown_comeback
from bot.sentry.models import Issue
from bot.slack.dialogs import IgnoreCountRequest, read_ignore_count

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def row(status: str, substatus: str | None) -> tuple[str, str | None]:
    return status, substatus


def issue(status: str, substatus: str | None) -> Issue:
    return Issue.from_api(
        {"id": "9", "status": status, "substatus": substatus, "project": {"slug": "web"}},
        web_base="https://sentry.io",
        org="acme",
    )


def comeback(shown: tuple[str, str | None], now: Issue) -> str | None:
    return shown_comeback(*shown, now)


def test_comebacks() -> None:
    assert comeback(row("resolved", None), issue("unresolved", "regressed")) == "regressed"
    assert (
        comeback(row("ignored", "archived_until_escalating"), issue("unresolved", "escalating"))
        == "escalating"
    )
    assert comeback(row("unresolved", "ongoing"), issue("unresolved", "escalating")) == "escalating"
    # Already shown as regressed: no second reply.
    assert comeback(row("unresolved", "regressed"), issue("unresolved", "regressed")) is None
    assert comeback(row("unresolved", "new"), issue("resolved", None)) is None
    assert comeback(row("resolved", None), issue("unresolved", "ongoing")) is None


def values(count: str, window: str | None = None) -> dict[str, object]:
    state: dict[str, object] = {
        "ignore_count": {"count": {"type": "plain_text_input", "value": count}}
    }
    if window is not None:
        state["ignore_window"] = {
            "window": {"type": "static_select", "selected_option": {"value": window}}
        }
    return {"values": state}


def test_ignore_count_input() -> None:
    assert read_ignore_count(values("250")) == (250, 0, None)
    assert read_ignore_count(values(" 7 ", "1440")) == (7, 1440, None)
    assert read_ignore_count(values("7", "999")) == (7, 0, None)
    assert read_ignore_count(values("many"))[2] == "Enter a whole number, like 100."
    assert read_ignore_count(values("0"))[2] == "Enter a number from 1 to 1,000,000."


def test_dialog_request_round_trip() -> None:
    request = IgnoreCountRequest(issue_id="9", mode="users", channel="C1", message_ts="1.000100")
    assert IgnoreCountRequest.decode(request.encode()) == request
