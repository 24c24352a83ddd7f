"""``conflicts.explain``: uv's derivations, as uv 0.13 prints them, turned into the user's words.

The texts below are uv's own, captured from real failed builds (the plugin
paths are the ones those builds were given).
"""

from __future__ import annotations

from corehost_build.conflicts import Party, explain

CAUSE = "  error: No solution found when resolving dependencies\n    cause: "

NEEDS_UNPUBLISHED = CAUSE + (
    "Because corehost-greet was not found in the package registry and fx-needs-greet==1.0 depends on "
    "corehost-greet>=0.1,<0.2, we can conclude that fx-needs-greet==1.0 cannot be used.\n"
    "           And because only fx-needs-greet==1.0 is available and you require fx-needs-greet, we can conclude "
    "that your requirements are unsatisfiable."
)
NEEDS_PLUGIN = Party("plugin", "fx-needs-greet", "1.0", "--with ./fx-needs-greet")

NOT_IN_CACHE = CAUSE + (
    "Because corehost-nosuch-thing was not found in the cache and you require corehost-nosuch-thing, we can "
    "conclude that your requirements are unsatisfiable.\n\n"
    "  hint: Packages were unavailable because the network was disabled. When the network is disabled, registry "
    "packages may only be read from the cache."
)

COLLISION = CAUSE + (
    "Because only fxr-alpha==1.0 is available and fxr-alpha==1.0 depends on fxr-beta>=2, we can conclude that all "
    "versions of fxr-alpha depend on fxr-beta>=2.\n"
    "           And because only fxr-beta<2 is available and you require fxr-alpha, we can conclude that your "
    "requirements are unsatisfiable."
)

TOO_NEW = CAUSE + (
    "Because only packaging<=26.4 is available and fx-nv==1.0 depends on packaging>=999, we can conclude that "
    "fx-nv==1.0 cannot be used.\n"
    "           And because only fx-nv==1.0 is available and you require fx-nv, we can conclude that your "
    "requirements are unsatisfiable."
)

NO_SUCH_VERSION = CAUSE + (
    "Because there is no version of packaging==999 and you require packaging==999, we can conclude that your "
    "requirements are unsatisfiable."
)


def test_a_missing_dependency_blames_the_plugin_that_needs_it() -> None:
    message, found = explain(NEEDS_UNPUBLISHED, {"fx-needs-greet": NEEDS_PLUGIN})
    head = message.splitlines()[0]
    assert head.startswith(
        "no distribution named corehost-greet could be found (uv looked in the package registry), but plugin "
        "fx-needs-greet 1.0 (--with ./fx-needs-greet) requires corehost-greet>=0.1,<0.2."
    )
    assert "corehost-greet needs it" not in head
    assert "give its project folder or wheel with --with PATH" in head and "--find-links DIR" in head
    assert "--offline" not in head, "--offline was not given, so dropping it is no fix"
    assert "uv's explanation:" in message and found == []


def test_offline_is_suggested_only_when_it_was_given() -> None:
    party = Party("plugin", "corehost-nosuch-thing", "", "--with corehost-nosuch-thing")
    online, _ = explain(NOT_IN_CACHE, {"corehost-nosuch-thing": party})
    offline, _ = explain(NOT_IN_CACHE, {"corehost-nosuch-thing": party}, offline=True)
    assert "--offline" not in online.splitlines()[0]
    assert "build once without --offline if it was never downloaded" in offline.splitlines()[0]
    assert "plugin corehost-nosuch-thing (--with corehost-nosuch-thing) asks for it" in offline


def test_a_collision_names_both_plugins_and_the_ranges() -> None:
    parties = {
        "fxr-alpha": Party("plugin", "fxr-alpha", "1.0", "--with ./fxr-alpha"),
        "fxr-beta": Party("plugin", "fxr-beta", "1.0", "--with ./fxr-beta"),
    }
    message, found = explain(COLLISION, parties)
    assert message.startswith("the requirements of fxr-alpha, fxr-beta collide")
    assert (
        "together. On fxr-beta: plugin fxr-alpha 1.0 (--with ./fxr-alpha) requires fxr-beta>=2; "
        "plugin fxr-beta 1.0 (--with ./fxr-beta) is 1.0." in message
    ), "the sentence's full stop is not part of the range"
    assert [(c.package, c.claims) for c in found] == [("fxr-beta", (("fxr-alpha", ">=2"), ("fxr-beta", "==1.0")))]


def test_a_range_no_release_satisfies_names_the_newest_and_who_asks() -> None:
    message, _ = explain(TOO_NEW, {"fx-nv": Party("plugin", "fx-nv", "1.0", "--with ./nv")})
    assert message.startswith(
        "no release of packaging matches >=999 (only packaging<=26.4 is available), but plugin fx-nv 1.0 "
        "(--with ./nv) requires packaging>=999."
    )


def test_a_pinned_version_that_does_not_exist() -> None:
    party = Party("plugin", "packaging", "", "--with packaging==999")
    message, _ = explain(NO_SUCH_VERSION, {"packaging": party})
    assert message.startswith(
        "no release of packaging matches ==999, but plugin packaging (--with packaging==999) asks for it."
    )


def test_an_unrecognised_explanation_is_passed_on_whole() -> None:
    text = "  error: something uv has never said before"
    message, found = explain(text, {})
    assert message.startswith("resolving the host and plugins failed") and message.endswith(text) and found == []
