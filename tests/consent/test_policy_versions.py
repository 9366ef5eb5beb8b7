"""The review policy's versions: kept in the database with their text, the first one made from the
setting so that consent given before stays valid; published versions never change; after a
material change the owner confirms the new text on their page or through the API, and only a
published, current version can be confirmed."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, transaction

from consent.models import ConsentRecord, LedgerEntry, PolicyVersion
from core.errors import Conflict
from labeling.custody.services import policy_publish
from tests.factories import client_for, make_subject, policy_published

pytestmark = pytest.mark.django_db


def consent_of(client) -> dict:
    response = client.get("/api/v1/me/consent")
    assert response.status_code == 200
    return response.json()


def test_the_first_version_is_the_settings_one_with_the_pages_text_and_earlier_consent_counts(subject):
    first = PolicyVersion.objects.get(version=settings.REVIEW_POLICY_VERSION)
    assert first.published and not first.material and "your voice is disguised" in first.text
    body = consent_of(client_for(subject.user, verified=False))
    assert body["current_policy_version"] == settings.REVIEW_POLICY_VERSION
    assert body["current_policy"]["text"] == first.text
    assert body["human_review"] is True and body["counts_for_review"] is True
    assert body["confirmation_needed"] is False


def test_after_a_material_change_the_owner_confirms_through_the_api(subject):
    client = client_for(subject.user, verified=False)
    policy_published("2027-03", material=True, text="Reviewers may also hear recordings to grade other reviewers.")
    body = consent_of(client)
    assert body["human_review"] is True and body["policy_version"] == settings.REVIEW_POLICY_VERSION
    assert body["confirmation_needed"] is True and body["counts_for_review"] is False
    assert body["current_policy"] | {"published_at": None} == {
        "version": "2027-03", "text": "Reviewers may also hear recordings to grade other reviewers.",
        "material": True, "published_at": None}
    changed = client.put("/api/v1/me/consent", {"human_review": True, "policy_version": "2027-03"}, format="json")
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["confirmation_needed"] is False and body["counts_for_review"] is True
    assert [(r["version"], r["policy_version"]) for r in body["history"]] == [
        (2, "2027-03"), (1, settings.REVIEW_POLICY_VERSION)]
    entry = LedgerEntry.objects.filter(account_id=subject.id, action="consent_change").order_by("-id").first()
    assert entry.detail["policy"] == "2027-03" and entry.detail["granted"] is True


def test_a_change_that_is_not_material_needs_no_confirmation(subject):
    policy_published("2027-03", material=False)
    body = consent_of(client_for(subject.user, verified=False))
    assert body["current_policy_version"] == "2027-03"
    assert body["confirmation_needed"] is False and body["counts_for_review"] is True


@pytest.mark.parametrize("named, status, code", [
    ("2099-01", 400, "unknown_policy_version"),  # never written
    ("2027-04", 400, "unknown_policy_version"),  # a draft: answered as if it did not exist
    (settings.REVIEW_POLICY_VERSION, 409, "policy_changed"),  # published, but no longer current
])
def test_the_owner_cannot_confirm_a_version_that_is_not_the_published_current_one(subject, named, status, code):
    client = client_for(subject.user, verified=False)
    policy_published("2027-03", material=True)
    PolicyVersion.objects.create(version="2027-04", text="A draft nobody approved yet.", material=False)
    response = client.put("/api/v1/me/consent", {"human_review": True, "policy_version": named}, format="json")
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert "draft" not in response.content.decode()
    assert ConsentRecord.objects.filter(account=subject).count() == 1
    assert consent_of(client)["confirmation_needed"] is True


def test_a_draft_and_an_unknown_version_get_the_same_answer(subject):
    client = client_for(subject.user, verified=False)
    PolicyVersion.objects.create(version="2027-04", text="A draft.", material=False)
    draft, unknown = (client.put("/api/v1/me/consent", {"human_review": True, "policy_version": name},
                                 format="json") for name in ("2027-04", "2027-05"))
    assert draft.status_code == unknown.status_code == 400
    assert draft.json()["error"] | {"message": ""} == unknown.json()["error"] | {"message": ""}
    assert draft.json()["error"]["message"].replace("2027-04", "?") == \
        unknown.json()["error"]["message"].replace("2027-05", "?")


def test_a_no_is_taken_whatever_version_the_page_showed(subject):
    """An owner who read the earlier text may always say no."""
    client = client_for(subject.user, verified=False)
    policy_published("2027-03", material=True)
    response = client.put("/api/v1/me/consent", {"human_review": False,
                                                  "policy_version": settings.REVIEW_POLICY_VERSION}, format="json")
    assert response.status_code == 200 and response.json()["human_review"] is False
    assert response.json()["history"][0]["policy_version"] == "2027-03"


def test_the_owner_sees_the_notice_and_confirms_on_their_page(subject):
    client = client_for(subject.user, verified=False)
    page = client.get("/me/").content.decode()
    assert "The review policy has changed" not in page and "your voice is disguised" in page
    policy_published("2027-03", material=True, text="Reviewers may also hear recordings to grade other reviewers.")
    page = client.get("/me/").content.decode()
    assert "The review policy has changed" in page and "grade other reviewers" in page
    assert 'name="policy_version" value="2027-03"' in page and "I have read version 2027-03 and agree" in page
    assert "your voice is disguised" in page  # the earlier text stays readable
    done = client.post("/me/", {"human_review": "yes", "policy_version": "2027-03"}, follow=True)
    assert "The review policy has changed" not in done.content.decode()
    assert consent_of(client)["counts_for_review"] is True


def test_the_page_refuses_a_yes_to_a_version_it_did_not_show(subject):
    client = client_for(subject.user, verified=False)
    policy_published("2027-03", material=True)
    PolicyVersion.objects.create(version="2027-04", text="A draft.", material=False)
    for shown in ("2027-04", settings.REVIEW_POLICY_VERSION, ""):
        page = client.post("/me/", {"human_review": "yes", "policy_version": shown}, follow=True).content.decode()
        assert "The review policy has changed" in page
    assert ConsentRecord.objects.filter(account=subject).count() == 1


def test_a_new_owner_agrees_to_the_current_version(db):
    owner = make_subject("acct-5120", consent=False)
    policy_published("2027-03", material=True)
    client = client_for(owner.user, verified=False)
    assert consent_of(client)["confirmation_needed"] is False  # nothing to confirm: they never said yes
    client.post("/me/", {"human_review": "yes", "policy_version": "2027-03"})
    body = consent_of(client)
    assert body["counts_for_review"] is True and body["policy_version"] == "2027-03"


def test_admins_write_drafts_publish_them_and_history_is_kept(subject):
    admin = User.objects.create_superuser("root-admin", password="correct horse battery")
    client = client_for(admin)
    added = client.post("/admin/consent/policyversion/add/", {"version": "2027-03", "text": "First draft.",
                                                              "material": "on"})
    assert added.status_code == 302, added.content
    draft = PolicyVersion.objects.get(version="2027-03")
    assert draft.created_by == admin and not draft.published
    edited = client.post(f"/admin/consent/policyversion/{draft.pk}/change/",
                         {"version": "2027-03", "text": "Reviewers may also grade other reviewers.", "material": "on"})
    assert edited.status_code == 302
    published = client.post("/admin/consent/policyversion/", {"action": "publish", "_selected_action": [draft.pk]})
    assert published.status_code == 302
    draft.refresh_from_db()
    assert draft.published and draft.text == "Reviewers may also grade other reviewers."
    assert consent_of(client_for(subject.user, verified=False))["confirmation_needed"] is True

    # A published version is read-only and stays.
    first = PolicyVersion.objects.get(version=settings.REVIEW_POLICY_VERSION)
    original = first.text
    for policy in (first, draft):
        view = client.get(f"/admin/consent/policyversion/{policy.pk}/change/").content.decode()
        assert 'name="text"' not in view and policy.version in view
        assert client.post(f"/admin/consent/policyversion/{policy.pk}/change/",
                           {"version": policy.version, "text": "Rewritten.", "material": ""}).status_code == 403
        assert client.post(f"/admin/consent/policyversion/{policy.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in client.get("/admin/consent/policyversion/").content.decode()
    first.refresh_from_db()
    assert first.text == original
    assert list(PolicyVersion.objects.order_by("number").values_list("version", flat=True)) == [
        settings.REVIEW_POLICY_VERSION, "2027-03"]


def test_a_published_version_never_changes_whoever_asks(db):
    first = PolicyVersion.objects.get(version=settings.REVIEW_POLICY_VERSION)
    first.text = "Rewritten behind the owners' backs."
    with pytest.raises(ValueError):
        first.save()
    with pytest.raises(ValueError):
        first.delete()
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():  # the database refuses it too
        PolicyVersion.objects.filter(pk=first.pk).update(text="Rewritten behind the owners' backs.")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        PolicyVersion.objects.filter(pk=first.pk).update(material=True)
    assert PolicyVersion.objects.get(pk=first.pk).text != "Rewritten behind the owners' backs."
    with pytest.raises(Conflict):
        policy_publish(policy_id=first.pk)


def test_the_admin_who_wrote_a_published_version_may_leave(db):
    """Who wrote a version is not what owners agreed to: removing that admin's user keeps the version."""
    writer = User.objects.create_superuser("policy-writer", password="correct horse battery")
    draft = PolicyVersion.objects.create(version="2027-03", text="New terms.", material=False, created_by=writer)
    policy_publish(policy_id=draft.pk)
    writer.delete()
    kept = PolicyVersion.objects.get(pk=draft.pk)
    assert kept.created_by is None and kept.text == "New terms." and kept.published
