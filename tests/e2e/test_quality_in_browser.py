"""A supervisor makes a gold clip on its page and exports the project, following the progress."""

import pytest

from labeling.exports.services import export_build
from labeling.models import Assignment, ExportJob, GoldClip
from tests.e2e.conftest import sign_in
from tests.factories import claim, client_for, make_subject, make_user, queued_clip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups


def test_a_supervisor_makes_a_gold_clip_and_exports_the_project(browser, live_server):
    annotator, supervisor = make_user("ann-q", "annotator"), make_user("sup-q", "supervisor")
    queued_clip(make_subject(), seconds=2.0)
    client = client_for(annotator)
    assignment = claim(client)
    client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "lights of"}, format="json")

    page = sign_in(browser, live_server, supervisor)
    page.goto(f"{live_server.url}/supervise/quality/")
    page.click("text=Review a transcribed clip")
    page.wait_for_selector("#annotator-text >> text=lights of")
    with page.expect_response("**/play-starts") as started:  # the owner is told the page's play starts
        page.click("#play")
    assert started.value.status == 204
    page.fill("#reference", "lights off")
    page.click("text=Make it a gold clip")
    page.wait_for_selector("text=Saved as a gold clip.")
    gold = GoldClip.objects.get()
    assert gold.reference_text == "lights off"
    assert Assignment.objects.get(clip=gold.clip, purpose="quality_review").play_starts == 1

    page.goto(f"{live_server.url}/supervise/exports/")
    page.click("button:text('Export')")
    page.wait_for_selector("#exports >> text=queued")
    export_build(export_id=ExportJob.objects.get().id)  # what the worker does
    page.wait_for_selector("#exports >> text=Download")
    assert page.text_content("#exports").count("1 of 1") == 1
    with page.expect_download() as download:
        page.click("#exports >> text=Download")
    assert download.value.suggested_filename.startswith("default-") and download.value.path().stat().st_size > 1000
