"""A program's chat setting: through the API and the program form, with the URL checks."""

from __future__ import annotations


def test_set_the_chat_through_the_api(api, make_program, allow_private):
    program = make_program()
    crmo = api("crmo")
    path = f"/api/v1/programs/{program.id}"
    set_ = crmo.patch(
        path,
        json={
            "version": program.version,
            "chat_url": "http://127.0.0.1:9/chat",
            "chat_flavour": "teams",
        },
    )
    assert set_.status_code == 200, set_.json
    assert (set_.json["chat_url"], set_.json["chat_flavour"]) == (
        "http://127.0.0.1:9/chat",
        "teams",
    )
    cleared = crmo.patch(path, json={"version": set_.json["version"], "chat_url": ""})
    assert cleared.status_code == 200 and cleared.json["chat_url"] == ""


def test_a_private_or_bad_chat_url_is_refused(api, make_program):
    program = make_program()
    crmo = api("crmo")
    for url in ("https://10.0.0.5/hook", "http://hooks.slack.com/x", "mailto:x@example.com"):
        answer = crmo.patch(
            f"/api/v1/programs/{program.id}", json={"version": program.version, "chat_url": url}
        )
        assert answer.status_code == 422, (url, answer.json)
        assert "chat_url" in {e["field"] for e in answer.json["errors"]}
    wrong = crmo.patch(
        f"/api/v1/programs/{program.id}",
        json={"version": program.version, "chat_flavour": "irc"},
    )
    assert wrong.status_code == 422
