"""The supervisors' dashboard and escalation page; the annotator page's flag and second-opinion controls."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from labeling.models import Escalation, Shift
from tests.factories import claim, client_for, fetch_audio, make_user, queued_clip

pytestmark = pytest.mark.django_db


def flag_one(annotator, subject, category="danger"):
    queued_clip(subject, seconds=2.0)
    client = client_for(annotator)
    assignment = claim(client)
    fetch_audio(client, assignment)
    client.post(f"/api/v1/assignments/{assignment['id']}/escalate", {"category": category}, format="json")


def test_the_dashboard_draws_its_charts_and_names_no_data_subject(annotator, supervisor, subject):
    flag_one(annotator, subject)
    overdue = make_user("ann-9", "annotator")
    flag_one(overdue, subject, "distressing")
    Escalation.objects.filter(category="distressing").update(due_at=timezone.now())
    done = client_for(make_user("ann-8", "annotator"))
    queued_clip(subject)
    assignment = claim(done)
    done.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "ok"}, format="json")

    page = client_for(supervisor).get("/supervise/").content.decode()
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(charts) == 2  # clips per hour, exposure per annotator
    for chart in charts:
        assert ET.fromstring(chart).tag.endswith("svg")  # well-formed, so browsers draw it
    assert "<strong>2</strong> open" in page and "1 overdue" in page
    assert "Possible crime or someone in danger" in page
    assert re.search(r"<td>ann-1</td><td>[0-9:]+</td><td>0\.0</td><td>10</td><td>1</td>", page)
    assert "<title>" in page and "Clips transcribed per hour" in page
    for clip in subject.clips.all():
        assert str(clip.id) not in page and str(clip.id)[:8] not in page
    for identifier in (str(subject.id), subject.external_id, subject.first_name, "SN-Q9X4-77821"):
        assert identifier not in page


def test_exposure_over_budget_is_drawn_in_red(annotator, supervisor, subject):
    flag_one(annotator, subject)
    Shift.objects.filter(annotator=annotator).update(exposure_seconds=11 * 60)
    page = client_for(supervisor).get("/supervise/").content.decode()
    assert 'fill="#b5443b"><title>ann-1: 11 min</title>' in page


def test_the_escalation_page_is_for_supervisors(annotator, supervisor):
    page = client_for(supervisor).get("/supervise/escalations/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "escalations.js" in text and "Record the outcome" in text and "Legal hold" in text
    assert "<audio" not in text
    assert client_for(annotator).get("/supervise/escalations/").status_code == 403


def test_the_annotator_page_offers_flags_and_second_opinions_on_keys(annotator):
    page = client_for(annotator).get("/annotate/").content.decode()
    assert "<kbd>Alt</kbd>+<kbd>F</kbd>" in page and "<kbd>Alt</kbd>+<kbd>O</kbd>" in page
    for label in ("Child safety", "Possible crime or someone in danger", "Self-harm risk", "Distressing", "Other"):
        assert label in page
    assert 'name="opt-out"' in page


def test_the_dashboard_shows_accuracy_and_agreement_from_real_submissions(annotator, other_annotator, supervisor,
                                                                          subject):
    from labeling.models import Project
    from tests.factories import label, make_gold

    project = Project.objects.get(slug="default")
    queued_clip(subject)
    label(client_for(annotator), "turn on the porch light")
    make_gold(supervisor)
    project.gold_share, project.agreement_share = 1.0, 1.0
    project.save()
    other = client_for(other_annotator)
    gold = claim(other)
    other.post(f"/api/v1/assignments/{gold['id']}/submit", {"text": "turn on the perch light"}, format="json")
    queued_clip(subject)
    label(other, "what time is it")  # sampled: a third annotator transcribes it blind
    third = client_for(make_user("ann-3", "annotator"))
    second = claim(third)
    third.post(f"/api/v1/assignments/{second['id']}/submit", {"text": "what time is it now"}, format="json")

    page = client_for(supervisor).get("/supervise/").content.decode()
    assert "<h3>Default project</h3>" in page
    assert "<td>ann-2</td><td>1</td><td>20%</td>" in page
    assert re.search(r"<strong>1</strong> clip\s+transcribed twice, blind; word error rate between the two "
                     r"readings\s+<strong>25%</strong> on average,\s+1 over the 20% limit", page)
    assert 'fill="#b5443b"><title>ann-2: 20 %</title>' in page  # at the limit: drawn in red
    for identifier in (subject.external_id, subject.first_name, "SN-Q9X4-77821"):
        assert identifier not in page


def test_the_gold_page_is_for_supervisors(annotator, supervisor):
    page = client_for(supervisor).get("/supervise/quality/")
    assert page.status_code == 200 and "quality.js" in page.content.decode()
    assert '<option value="default">Default project</option>' in page.content.decode()
    assert client_for(annotator).get("/supervise/quality/").status_code == 403


def test_the_device_keys_page_is_for_supervisors_allowed_to_manage_keys(annotator, supervisor):
    assert client_for(supervisor).get("/supervise/ingest-keys/").status_code == 403
    assert "Device keys" not in client_for(supervisor).get("/supervise/").content.decode()
    assert client_for(annotator).get("/supervise/ingest-keys/").status_code == 403
    supervisor.user_permissions.add(Permission.objects.get(codename="manage_ingest_keys"))
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)  # permissions are cached per instance
    page = client_for(supervisor).get("/supervise/ingest-keys/")
    assert page.status_code == 200 and "ingest_keys.js" in page.content.decode()
    assert 'max="168"' in page.content.decode() and 'value="24"' in page.content.decode()
    assert 'href="/supervise/ingest-keys/"' in client_for(supervisor).get("/supervise/").content.decode()
