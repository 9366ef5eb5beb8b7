"""Audio reaches only its assignee, only while the lease lives and consent holds at that moment."""

import io
from datetime import timedelta

import pytest
import soundfile as sf
from django.utils import timezone
from rest_framework.test import APIClient

from consent.models import LedgerEntry
from labeling.models import Assignment, AssignmentState, Clip, ClipStatus
from portal.services import consent_set
from tests.factories import claim, client_for, encode, fetch_audio, make_user, queued_clip

pytestmark = pytest.mark.django_db


def test_assignee_hears_the_clip_and_nothing_is_cached(annotator, subject):
    queued_clip(subject, seconds=1.5)
    client = client_for(annotator)
    assignment = claim(client)
    response = fetch_audio(client, assignment)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert "no-store" in response["Cache-Control"]
    assert "attachment" not in response.get("Content-Disposition", "")
    audio, rate = sf.read(io.BytesIO(response.content))
    assert rate == 16000 and len(audio) == 24000


@pytest.mark.parametrize("token", ["", "0" * 64])
def test_audio_needs_the_token_the_claim_returned(annotator, subject, token):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    response = fetch_audio(client, assignment, token=token)
    assert response.status_code == 403 and response.json()["error"]["code"] == "bad_audio_token"
    assert Assignment.objects.get(pk=assignment["id"]).audio_sent == 0


def test_an_assignments_audio_is_sent_at_most_the_allowed_times(settings, annotator, subject):
    settings.AUDIO_MAX_PLAYS = 3
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert [fetch_audio(client, assignment).status_code for _ in range(3)] == [200, 200, 200]
    refused = fetch_audio(client, assignment)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "plays_used_up"
    assert "3 times" in refused.json()["error"]["message"]
    assert Assignment.objects.get(pk=assignment["id"]).audio_sent == 3
    # The clip can still be transcribed from what was heard.
    assert client.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "ok"},
                       format="json").status_code == 200


def test_each_assignment_has_its_own_token(annotator, other_annotator, subject):
    queued_clip(subject)
    queued_clip(subject)
    first, second = claim(client_for(annotator)), claim(client_for(other_annotator))
    assert first["audio_token"] != second["audio_token"]
    assert fetch_audio(client_for(annotator), first, token=second["audio_token"]).status_code == 403


def test_another_annotator_cannot_fetch_the_audio(annotator, other_annotator, subject):
    queued_clip(subject)
    assignment = claim(client_for(annotator))
    other = client_for(other_annotator)
    other.post("/api/v1/shifts")
    response = fetch_audio(other, assignment)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    stolen = other.post(f"/api/v1/assignments/{assignment['id']}/submit", {"text": "stolen"}, format="json")
    assert stolen.status_code == 404


@pytest.mark.parametrize("who,expected", [("anonymous", 403), ("owner", 403), ("supervisor", 404)])
def test_nobody_but_the_assignee_fetches_an_annotators_audio(annotator, subject, supervisor, who, expected):
    """Supervisors hear clips only through their own listening assignments: an annotator's does not
    exist for them."""
    queued_clip(subject)
    assignment = claim(client_for(annotator))
    client = {"anonymous": APIClient(), "owner": client_for(subject.user), "supervisor": client_for(supervisor)}[who]
    assert fetch_audio(client, assignment).status_code == expected


def test_device_key_cannot_fetch_audio(annotator, subject, device_client):
    queued_clip(subject)
    assignment = claim(client_for(annotator))
    assert fetch_audio(device_client, assignment).status_code in (401, 403)


def test_expired_lease_stops_the_stream(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    Assignment.objects.filter(pk=assignment["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    response = fetch_audio(client, assignment)
    assert response.status_code == 409 and response.json()["error"]["code"] == "lease_expired"


@pytest.mark.parametrize("deletes,state", [(True, ClipStatus.DELETED), (False, ClipStatus.WITHDRAWN)])
def test_consent_revoked_between_ingest_and_serve_means_not_served(settings, annotator, subject, deletes, state):
    settings.REVOCATION_DELETES = deletes
    clip = queued_clip(subject)
    consent_set(account=subject, granted=False, channel="portal")
    client = client_for(annotator)
    client.post("/api/v1/shifts")
    assert client.post("/api/v1/assignments/next").status_code == 204
    assert Clip.objects.get(pk=clip.pk).status == state


def test_consent_revoked_after_claim_stops_the_audio(annotator, subject):
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert fetch_audio(client, assignment).status_code == 200
    consent_set(account=subject, granted=False, channel="portal")
    response = fetch_audio(client, assignment)
    assert response.status_code == 410 and response.json()["error"]["code"] == "withdrawn"
    assert Assignment.objects.get(pk=assignment["id"]).state == AssignmentState.REVOKED


def test_consent_check_at_serve_holds_even_if_withdrawal_missed_the_clip(annotator, subject):
    """A newer 'revoked' record is enough, whatever state the clip row is in."""
    from consent.models import ConsentRecord

    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    ConsentRecord.objects.create(account=subject, version=2, granted=False, policy_version="x", channel="api")
    assert fetch_audio(client, assignment).status_code == 410


def test_revoking_another_subject_does_not_touch_this_clip(annotator, subject):
    from tests.factories import make_subject

    stranger = make_subject("acct-other", first_name="Ezra")
    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    consent_set(account=stranger, granted=False, channel="portal")
    assert fetch_audio(client, assignment).status_code == 200


def test_data_owner_without_role_gets_403_on_shift(subject):
    assert client_for(subject.user).post("/api/v1/shifts").status_code == 403
    assert client_for(make_user("nobody")).post("/api/v1/assignments/next").status_code == 403


def test_the_editor_gets_the_waveform_envelope_without_using_a_play(annotator, other_annotator, subject):
    queued_clip(subject, seconds=2.0)  # a 0.2-amplitude tone
    client = client_for(annotator)
    assignment = claim(client)
    url = f"/api/v1/assignments/{assignment['id']}/peaks"
    body = client.get(url, {"bins": 100}, HTTP_X_AUDIO_TOKEN=assignment["audio_token"]).json()
    assert body["duration_seconds"] == 2.0 and len(body["peaks"]) == 100
    assert all(low == pytest.approx(-0.2, abs=0.01) and high == pytest.approx(0.2, abs=0.01)
               for low, high in body["peaks"])
    assert Assignment.objects.get(pk=assignment["id"]).audio_sent == 0
    assert client.get(url, HTTP_X_AUDIO_TOKEN="forged").status_code == 403
    assert client.get(url, {"bins": "lots"}, HTTP_X_AUDIO_TOKEN=assignment["audio_token"]).status_code == 400
    assert client.get(url, {"bins": 0}, HTTP_X_AUDIO_TOKEN=assignment["audio_token"]).status_code == 400
    assert client_for(other_annotator).get(url, HTTP_X_AUDIO_TOKEN=assignment["audio_token"]).status_code == 404
    consent_set(account=subject, granted=False, channel="portal")
    assert client.get(url, HTTP_X_AUDIO_TOKEN=assignment["audio_token"]).status_code == 410


def test_the_envelope_is_capped_at_drawing_resolution_and_every_read_is_in_the_ledger(annotator, subject):
    """A 1.5 s clip asked at 4,000 bins would give 6 samples a bin, a copy of the audio: it gets 300
    (80 samples a bin), and the owner's ledger shows who read it, for which assignment."""
    clip = queued_clip(subject, seconds=1.5)
    client = client_for(annotator)
    assignment = claim(client)
    url = f"/api/v1/assignments/{assignment['id']}/peaks"
    for _ in range(2):
        body = client.get(url, {"bins": 4000}, HTTP_X_AUDIO_TOKEN=assignment["audio_token"]).json()
        assert len(body["peaks"]) == 300
    reads = LedgerEntry.objects.filter(action="envelope_read", clip_id=clip.id)
    assert reads.count() == 2
    assert {(r.actor_id, str(r.assignment_id), r.account_id) for r in reads} == {
        (annotator.pk, assignment["id"], subject.id)}
    assert reads.first().detail == {"purpose": "transcription", "bins": 300}
    lines = client_for(subject.user, verified=False).get("/api/v1/me/ledger").json()["entries"]
    assert sum(line["what"] == "envelope_read" for line in lines) == 2


def test_peaks_come_from_the_envelope_sealed_at_deidentification(annotator, subject):
    """What is drawn is the clip's stored envelope, not its audio read again: a clip stored before
    envelopes were gets the same peaks from its audio; an envelope altered, or moved from another
    clip, is refused like audio whose key is gone."""
    import numpy as np

    from labeling import vault

    samples = (0.5 * np.sin(2 * np.pi * 3 * np.arange(32_000) / 16_000)).astype(np.float32)
    with_envelope = queued_clip(subject, samples=samples, queued_at=timezone.now() - timedelta(minutes=2))
    without = queued_clip(subject, samples=samples, envelope=False, queued_at=timezone.now() - timedelta(minutes=1))
    client = client_for(annotator)
    held = claim(client)
    ahead = client.post("/api/v1/assignments/prefetch").json()
    assert Assignment.objects.get(pk=held["id"]).clip_id == with_envelope.id
    assert Assignment.objects.get(pk=ahead["id"]).clip_id == without.id

    def peaks(assignment):
        return client.get(f"/api/v1/assignments/{assignment['id']}/peaks", {"bins": 40},
                          HTTP_X_AUDIO_TOKEN=assignment["audio_token"])

    stored, read_again = peaks(held).json(), peaks(ahead).json()
    assert stored == read_again and stored["duration_seconds"] == 2.0 and len(stored["peaks"]) == 40
    assert stored["peaks"][1][1] > 0.4 and stored["peaks"][5][0] < -0.4
    # Another signal sealed under the same clip's key is what the editor then draws.
    key = vault.unwrap_data_key(with_envelope.id, with_envelope.wrapped_key)
    flat = encode(np.full(32_000, 0.25, dtype=np.float32), 16000, "WAV", subtype="PCM_16")
    Clip.objects.filter(pk=with_envelope.pk).update(envelope=vault.seal_envelope(with_envelope.id, key, flat))
    assert {tuple(p) for p in peaks(held).json()["peaks"]} == {(0.25, 0.25)}
    sealed = bytes(Clip.objects.get(pk=with_envelope.pk).envelope)
    Clip.objects.filter(pk=with_envelope.pk).update(envelope=sealed[:-1] + bytes([sealed[-1] ^ 1]))
    assert peaks(held).status_code == 410
    Clip.objects.filter(pk=without.pk).update(envelope=sealed)  # another clip's envelope
    assert peaks(ahead).status_code == 410
    assert Assignment.objects.filter(pk__in=[held["id"], ahead["id"]], audio_sent=0).count() == 2


def _peaks(client, assignment):
    return client.get(f"/api/v1/assignments/{assignment['id']}/peaks",
                      HTTP_X_AUDIO_TOKEN=assignment["audio_token"])


def test_a_legal_hold_placed_while_the_clip_is_open_stops_its_sound_and_envelope(annotator, subject):
    """Audio and envelope read the holds in the statement that reads the assignment: a hold in
    force refuses both, an expired one refuses neither."""
    from labeling.models import LegalHold

    clip = queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    now = timezone.now()
    hold = LegalHold.objects.create(clip=clip, reason="Court order 17/2026", created_by=make_user("counsel"),
                                    created_at=now, expires_at=now + timedelta(days=30))
    for response in (fetch_audio(client, assignment), _peaks(client, assignment)):
        assert response.status_code == 410 and response.json()["error"]["code"] == "legal_hold"
    LegalHold.objects.filter(pk=hold.pk).update(expires_at=now - timedelta(seconds=1))
    assert fetch_audio(client, assignment).status_code == 200
    assert _peaks(client, assignment).status_code == 200


def test_a_revoking_record_stops_the_envelope_whatever_state_the_rows_are_in(annotator, subject):
    """The envelope is refused on the owner's newest consent record alone, as the audio is."""
    from consent.models import ConsentRecord

    queued_clip(subject)
    client = client_for(annotator)
    assignment = claim(client)
    assert _peaks(client, assignment).status_code == 200
    ConsentRecord.objects.create(account=subject, version=2, granted=False, policy_version="x", channel="api")
    response = _peaks(client, assignment)
    assert response.status_code == 410 and response.json()["error"]["code"] == "withdrawn"
    assert LedgerEntry.objects.filter(action=LedgerEntry.Action.ENVELOPE_READ).count() == 1
