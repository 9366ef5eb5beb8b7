"""Least privilege: every endpoint called as every role answers as the README's role table says,
including one annotator reaching for another's assignment, audio or transcript."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.exports.services import export_build
from labeling.models import Assignment, ExportJob, IngestKey, Project, SecondOpinion
from tests.factories import claim, client_for, make_user, metadata, queued_clip, upload

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "subject", "device", "assignee", "other_annotator", "supervisor"]

# (method, path, {role: expected status}); roles left out get 403.
MATRIX = [
    # Ingest knows device keys only: a signed-in person is, to it, not authenticated.
    ("POST", "/api/v1/clips", {role: 401 for role in ROLES} | {"device": 202}),
    ("POST", "/api/v1/accounts/link-codes", {role: 401 for role in ROLES} | {"device": 201}),
    ("GET", "/api/v1/clips/held", {"supervisor": 200}),
    ("POST", "/api/v1/shifts", {"assignee": 201, "other_annotator": 201}),
    ("GET", "/api/v1/shifts/current", {"assignee": 200, "other_annotator": 404}),
    ("POST", "/api/v1/shifts/current/end", {"assignee": 200, "other_annotator": 409}),
    ("POST", "/api/v1/assignments/next", {"assignee": 200, "other_annotator": 409}),
    ("POST", "/api/v1/assignments/prefetch", {"assignee": 204, "other_annotator": 409}),  # nothing left to claim
    ("GET", "/api/v1/assignments/{id}/audio", {"assignee": 200, "other_annotator": 404, "supervisor": 404}),
    ("GET", "/api/v1/assignments/{id}/peaks", {"assignee": 200, "other_annotator": 404, "supervisor": 404}),
    ("POST", "/api/v1/assignments/{id}/play-starts", {"assignee": 204, "other_annotator": 404, "supervisor": 404}),
    ("GET", "/api/v1/assignments/{id}/status", {"assignee": 200, "other_annotator": 404, "supervisor": 404}),
    ("POST", "/api/v1/assignments/{id}/submit", {"assignee": 200, "other_annotator": 404}),
    ("PUT", "/api/v1/assignments/{id}/draft", {"assignee": 200, "other_annotator": 404}),
    ("POST", "/api/v1/assignments/{id}/skip", {"assignee": 200, "other_annotator": 404}),
    ("POST", "/api/v1/assignments/{id}/escalate", {"assignee": 201, "other_annotator": 404}),
    ("POST", "/api/v1/assignments/{id}/second-opinion", {"assignee": 201, "other_annotator": 404}),
    ("GET", "/api/v1/annotator/settings", {"assignee": 200, "other_annotator": 200}),
    ("PUT", "/api/v1/annotator/settings", {"assignee": 200, "other_annotator": 200}),
    ("GET", "/api/v1/second-opinions/mine", {"assignee": 200, "other_annotator": 200}),
    ("GET", "/api/v1/second-opinions", {"supervisor": 200}),
    ("GET", "/api/v1/second-opinions/{so}", {"supervisor": 200}),
    ("POST", "/api/v1/second-opinions/{so}/listen", {"supervisor": 200}),
    ("POST", "/api/v1/second-opinions/{so}/adjudicate", {"supervisor": 200}),
    ("GET", "/api/v1/escalations", {"supervisor": 200}),
    ("POST", "/api/v1/escalations/{esc}/claim", {"supervisor": 200}),
    ("GET", "/api/v1/escalations/{esc}", {"supervisor": 200}),
    ("POST", "/api/v1/escalations/{esc}/listen", {"supervisor": 200}),
    ("POST", "/api/v1/escalations/{esc}/resolve", {"supervisor": 200}),
    ("POST", "/api/v1/escalations/{esc}/hold", {"supervisor": 201}),
    ("POST", "/api/v1/leaks/trace", {"supervisor": 200}),
    # The supervisor below holds labeling.manage_ingest_keys; one without it: see the test at the end.
    ("GET", "/api/v1/ingest-keys", {"supervisor": 200}),
    ("POST", "/api/v1/ingest-keys", {"supervisor": 201}),
    ("POST", "/api/v1/ingest-keys/{key}/rotate", {"supervisor": 201}),
    ("POST", "/api/v1/ingest-keys/{key}/revoke", {"supervisor": 200}),
    ("GET", "/api/v1/projects", {"assignee": 200, "other_annotator": 200, "supervisor": 200}),
    ("GET", "/api/v1/projects/default/quality", {"supervisor": 200}),
    ("POST", "/api/v1/projects/default/quality-reviews", {"supervisor": 204}),  # nothing labeled yet
    ("POST", "/api/v1/quality-reviews/{id}/gold", {"supervisor": 404}),  # not their review
    ("GET", "/api/v1/projects/default/exports", {"supervisor": 200}),
    ("POST", "/api/v1/projects/default/exports", {"supervisor": 202}),
    ("GET", "/api/v1/exports/{export}", {"supervisor": 200}),
    ("GET", "/api/v1/exports/{export}/download", {"supervisor": 200}),
    ("GET", "/api/v1/me/consent", {"subject": 200}),
    ("PUT", "/api/v1/me/consent", {"subject": 200}),
    ("GET", "/api/v1/me/ledger", {"subject": 200}),
    ("GET", "/api/v1/me/clips", {"subject": 200}),
    ("GET", "/api/v1/me/export", {"subject": 200}),
    ("DELETE", "/api/v1/me/clips/{clip}", {"subject": 200}),
    ("DELETE", "/api/v1/me/clips", {"subject": 200}),
    ("GET", "/api/schema/", {role: 200 for role in ROLES}),
    ("GET", "/annotate/", {"assignee": 200, "other_annotator": 200, "anonymous": 302, "device": 302}),
    ("GET", "/supervise/", {"supervisor": 200, "anonymous": 302, "device": 302}),
    ("GET", "/supervise/quality/", {"supervisor": 200, "anonymous": 302, "device": 302}),
    ("GET", "/supervise/exports/", {"supervisor": 200, "anonymous": 302, "device": 302}),
    ("GET", "/supervise/ingest-keys/", {"supervisor": 200, "anonymous": 302, "device": 302}),
    ("GET", "/me/", {"subject": 200, "anonymous": 302, "device": 302}),
]


@pytest.fixture
def world(subject, device_key):
    """A clip claimed by the assignee; another clip flagged by a third annotator, its escalation
    claimed by the supervisor; a second opinion on the assignee's clip awaiting adjudication;
    every role's client. The supervisor may manage ingest keys (labeling.manage_ingest_keys)."""
    queued_clip(subject, queued_at=timezone.now() - timedelta(minutes=1))
    queued_clip(subject)
    assignee, other, supervisor = (make_user("ann-a", "annotator"), make_user("ann-b", "annotator"),
                                   make_user("sup", "supervisor"))
    supervisor.user_permissions.add(Permission.objects.get(codename="manage_ingest_keys"))
    clients = {role: client_for(user) for role, user in (("assignee", assignee), ("other_annotator", other),
                                                         ("supervisor", supervisor), ("subject", subject.user))}
    clients["assignee"].post("/api/v1/shifts")
    claimed = clients["assignee"].post("/api/v1/assignments/next").json()
    flagger = client_for(make_user("ann-c", "annotator"))
    flagged = claim(flagger)
    escalation = flagger.post(f"/api/v1/assignments/{flagged['id']}/escalate", {"category": "other"},
                              format="json").json()["escalation"]
    clients["supervisor"].post(f"/api/v1/escalations/{escalation}/claim")
    opinion = SecondOpinion.objects.create(
        clip=Assignment.objects.get(pk=claimed["id"]).clip, asked_by=assignee, asking_assignment_id=claimed["id"],
        start_seconds=0.0, end_seconds=0.5, first_text="one", answer_text="two", difference=1.0, state="adjudication")
    export = ExportJob.objects.create(project=Project.objects.get(slug="default"), requested_by=supervisor,
                                      formats=["jsonl"])
    assert export_build(export_id=export.id) == "done"  # an empty export: nothing is labeled yet
    claimed = claimed | {"esc": escalation, "so": str(opinion.id), "clip": str(opinion.clip_id),
                         "export": str(export.id), "key": IngestKey.objects.get().pk}
    clients["anonymous"] = APIClient()
    clients["device"] = APIClient()
    clients["device"].credentials(HTTP_AUTHORIZATION=f"Api-Key {device_key}")
    return clients, claimed


def call(client, method, path, claimed, speech_wav):
    path = path.format(id=claimed["id"], esc=claimed["esc"], so=claimed["so"], clip=claimed["clip"],
                       export=claimed["export"], key=claimed["key"])
    headers = {"HTTP_X_AUDIO_TOKEN": claimed["audio_token"]}  # a stolen token changes nothing
    if path == "/api/v1/clips":
        return upload(client, speech_wav, metadata())
    if path.endswith("/play-starts"):  # a page reports a start of audio it was sent
        client.get(path.replace("/play-starts", "/audio"), **headers)
    if path == "/api/v1/leaks/trace":
        leak = io.BytesIO(speech_wav)
        leak.name = "leak.wav"
        return client.post(path, {"audio": leak}, format="multipart")
    body = {"/submit": {"text": "hello"}, "/draft": {"text": "hel"}, "/consent": {"human_review": True},
            "/escalate": {"category": "other"},
            "/second-opinion": {"start_seconds": 0, "end_seconds": 0.5, "text": "hi"},
            "/settings": {"opted_out_categories": ["distressing"]}, "/adjudicate": {"text": "one"},
            "/resolve": {"outcome": "no_action", "reason": "Nothing of concern."},
            "/gold": {"reference_text": "hello"},
            "/hold": {"reason": "Requested by counsel.", "days": 7}, "/link-codes": {"account": "acct-new"},
            "/ingest-keys": {"name": "Acme speakers"}, "/rotate": {"overlap_hours": 1}}
    data = next((value for suffix, value in body.items() if path.endswith(suffix)), None)
    return getattr(client, method.lower())(path, data, format="json", **headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,allowed", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_each_role_gets_exactly_what_the_table_allows(world, speech_wav, role, method, path, allowed):
    clients, claimed = world
    response = call(clients[role], method, path, claimed, speech_wav)
    assert response.status_code == allowed.get(role, 403), response.content[:300]


def test_another_annotator_never_reads_the_assignees_transcript(world, speech_wav):
    clients, claimed = world
    clients["assignee"].post(f"/api/v1/assignments/{claimed['id']}/submit", {"text": "secret words"}, format="json")
    other = clients["other_annotator"]
    other.post("/api/v1/shifts")
    for response in (other.post("/api/v1/assignments/next"), other.get("/api/v1/shifts/current"),
                     other.post(f"/api/v1/assignments/{claimed['id']}/submit", {"text": "x"}, format="json")):
        assert b"secret words" not in response.content


@pytest.mark.parametrize("method,path", [(m, p) for m, p, _ in MATRIX if "ingest-keys" in p])
def test_a_supervisor_without_the_key_permission_gets_403_on_every_key_endpoint(world, speech_wav, method, path):
    _, claimed = world
    plain = client_for(make_user("sup-plain", "supervisor"))
    assert call(plain, method, path, claimed, speech_wav).status_code == 403
    assert IngestKey.objects.get().is_active(timezone.now())
