"""A supervisor allowed to manage device keys makes, rotates and revokes one on its page."""

import pytest
from django.contrib.auth.models import Permission

from labeling.models import IngestKey
from tests.e2e.conftest import sign_in
from tests.factories import link_code_with, make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the role groups


def works(secret: str) -> bool:
    return link_code_with(secret).status_code == 201


def test_a_supervisor_makes_rotates_and_revokes_a_device_key(browser, live_server):
    supervisor = make_user("sup-k", "supervisor")
    supervisor.user_permissions.add(Permission.objects.get(codename="manage_ingest_keys"))
    page = sign_in(browser, live_server, supervisor)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("text=Device keys")
    page.wait_for_url("**/supervise/ingest-keys/")
    page.wait_for_load_state("networkidle")  # the list is in: a form filled earlier could be redrawn
    page.fill("#name", "Acme speakers")
    page.click("text=Make a key")
    page.wait_for_selector("#secret-box:not([hidden])")
    secret = page.input_value("#secret")
    assert secret.startswith("vr_") and works(secret)
    page.wait_for_selector("#keys >> text=Acme speakers")  # the list is redrawn after the secret is shown
    assert "active" in page.text_content("#keys")
    page.click("text=Done, hide it")
    assert page.input_value("#secret") == "" and secret not in page.content()

    key = IngestKey.objects.get()
    page.fill("#overlap", "2")
    page.click(f"#keys >> text=Rotate {key.pk}")
    page.wait_for_selector("#keys >> text=replaced; works until")
    new_secret = page.input_value("#secret")
    assert new_secret != secret and works(new_secret) and works(secret)
    new = IngestKey.objects.get(replaces=key)
    page.click(f"#keys >> text=Revoke {key.pk}")
    page.wait_for_selector(f"#status >> text=Key {key.pk} revoked.")
    assert not works(secret) and works(new_secret)

    page.reload()
    page.wait_for_selector(f"#keys >> text=replaced by {new.pk}")
    assert secret not in page.content() and new_secret not in page.content()
