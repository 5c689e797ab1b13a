"""The pieces of the page's sign-in, each on its own.

Real: hashlib.scrypt, HMAC, the session store and the failure brake with an
injected clock, the Host header parser, the zone pooling.
Stood in: nothing (no server here; tests/web/test_roles.py drives a real hub).
"""

from __future__ import annotations

import pytest

from hub.web.auth import (
    FailureBrake,
    LinkSigner,
    Principal,
    Sessions,
    check_hash_format,
    hash_secret,
    link_key,
    verify_secret,
)
from hub.web.guard import allowed_hosts, connection_cap, host_name
from hub.web.views import MERGED, Privacy, sees_desk, visible_desks, zones


def test_scrypt_hash_round_trip_and_refuses_other_secrets():
    encoded = hash_secret("correct horse", log_n=10)
    assert encoded.startswith("scrypt$10$")
    assert "correct horse" not in encoded
    assert verify_secret("correct horse", encoded)
    assert not verify_secret("correct hors", encoded)
    assert hash_secret("correct horse", log_n=10) != encoded  # salted


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("plain-password", "expected an scrypt hash"),
        ("scrypt$x$8$1$AAAA$BBBB", "damaged"),
        ("scrypt$40$8$1$AAAAAAAAAAA$BBBB", "out of range"),
    ],
)
def test_hash_format_errors_say_what_is_wrong(bad, why):
    with pytest.raises(ValueError, match=why):
        check_hash_format(bad)
    assert not verify_secret("anything", bad)


def test_link_token_names_one_desk_and_survives_a_restart(tmp_path):
    key = link_key(tmp_path / "state" / "web-link.key")
    assert (tmp_path / "state" / "web-link.key").stat().st_mode & 0o777 == 0o600
    signer = LinkSigner(key)
    token = signer.token("desk-1")
    assert signer.valid("desk-1", token)
    assert not signer.valid("desk-2", token)
    assert not signer.valid("desk-1", token[:-1] + ("A" if token[-1] != "A" else "B"))
    again = LinkSigner(link_key(tmp_path / "state" / "web-link.key"))
    assert again.token("desk-1") == token
    assert LinkSigner(b"x" * 32).token("desk-1") != token


def test_sessions_expire_and_forged_ids_are_unknown():
    store = Sessions(lifetime_s=600.0, max_sessions=2)
    who = Principal("ana", "admin")
    sid, session = store.create(who, now=1000.0)
    assert store.get(sid, now=1599.0) is session
    assert store.get(sid, now=1600.0) is None
    assert store.get("forged", now=1000.0) is None
    first, _ = store.create(who, now=2000.0)
    store.create(who, now=2000.0)
    store.create(who, now=2000.0)
    assert store.get(first, now=2000.0) is None  # the oldest went when full


def test_brake_slows_an_address_after_a_burst_and_lets_it_go_later():
    brake = FailureBrake(burst=3, window_s=60.0)
    for t in (0.0, 1.0, 2.0):
        assert brake.retry_after("10.0.0.9", now=t) == 0.0
        brake.failed("10.0.0.9", now=t)
    assert brake.retry_after("10.0.0.9", now=3.0) == pytest.approx(57.0)
    assert brake.retry_after("10.0.0.8", now=3.0) == 0.0
    assert brake.retry_after("10.0.0.9", now=60.5) == 0.0


def test_host_header_parsing_and_allowed_names():
    allowed = allowed_hosts("0.0.0.0", ["Sitless.Example.org"])  # noqa: S104 - a bind address
    assert host_name("sitless.example.org:8080") in allowed
    assert host_name("SITLESS.example.org.") in allowed
    assert host_name("[::1]:8080") in allowed
    assert host_name("127.0.0.1") in allowed
    assert host_name("evil.example") not in allowed
    assert host_name("sitless.example.org:99999") is None
    assert host_name("[::1") is None
    assert host_name(None) is None


def test_connection_cap_stays_under_a_quarter_of_the_descriptors():
    assert connection_cap(10_000) <= 10_000
    assert connection_cap(4) == 4


def desk(name, site, floor, zone, state="seated"):
    return {
        "desk": name,
        "site": site,
        "floor": floor,
        "zone": zone,
        "state": state,
        "online": True,
    }


def test_zones_pool_small_groups_in_aggregate_mode_and_never_carry_a_desk():
    desks = [desk(f"n{i}", "hq", "3", "north") for i in range(3)]
    desks += [desk("s1", "hq", "3", "south"), desk("e1", "hq", "3", "east", "vacant")]
    desks += [desk("lonely", "annex", "1", "a")]
    pooled = zones(desks, Privacy(aggregate=True, min_group=3))
    # south and east (one desk each) are too small for their floor and their site, so
    # they are pooled with the annex's one desk across all sites.
    assert {(z["site"], z["floor"], z["zone"]): z["desks"] for z in pooled} == {
        ("hq", "3", "north"): 3,
        (MERGED, MERGED, MERGED): 3,
    }
    assert all("desk" not in z for z in pooled)
    assert "lonely" not in repr(pooled)
    desks.append(desk("w1", "hq", "3", "west"))
    pooled = zones(desks, Privacy(aggregate=True, min_group=3))
    # Now the floor's three small zones make a group; the annex's one desk is left out.
    assert {(z["site"], z["floor"], z["zone"]): z["desks"] for z in pooled} == {
        ("hq", "3", "north"): 3,
        ("hq", "3", MERGED): 3,
    }
    plain = zones(desks, Privacy(aggregate=False, min_group=3))
    assert len(plain) == 5  # per zone as they are, still without desk ids
    assert all("desk" not in z for z in plain)


def test_visible_desks_by_role():
    desks = {"d1": desk("d1", "hq", "3", "n"), "d2": desk("d2", "hq", "3", "n")}
    assert visible_desks(desks, None).keys() == {"d1", "d2"}
    assert visible_desks(desks, Principal("a", "admin")).keys() == {"d1", "d2"}
    assert visible_desks(desks, Principal("p", "person", "d2")).keys() == {"d2"}
    assert visible_desks(desks, Principal("f", "facilities")) == {}


@pytest.mark.parametrize(
    "who",
    [
        None,
        Principal("a", "admin"),
        Principal("p", "person", "d2"),
        Principal("q", "person", "nowhere"),
        Principal("f", "facilities"),
    ],
)
def test_one_desk_rule_is_the_same_as_the_whole_frame_rule(who):
    """The live stream asks per desk; it must answer as visible_desks does for the frame."""
    desks = {"d1": desk("d1", "hq", "3", "n"), "d2": desk("d2", "hq", "3", "n")}
    assert {d for d in desks if sees_desk(d, who)} == set(visible_desks(desks, who))
