"""The pure parts of `sshjup keep`: backoff and what counts as needing a person."""

from __future__ import annotations

from sshjup.ssh import keep


def test_backoff_doubles_from_1_s_and_stops_at_60_s() -> None:
    delays = [keep.BACKOFF_START]
    for _ in range(8):
        delays.append(keep.next_backoff(delays[-1]))
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_refused_login_or_unknown_host_key_needs_a_person_a_refused_connection_does_not() -> None:
    assert keep.needs_user("user@127.0.0.1: Permission denied (publickey).")
    assert keep.needs_user("Host key verification failed.")
    assert not keep.needs_user("ssh: connect to host 127.0.0.1 port 2222: Connection refused")
    assert not keep.needs_user("ssh: connect to host example.org port 22: Connection timed out")
