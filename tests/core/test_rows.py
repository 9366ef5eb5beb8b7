"""Models read from a hand-written statement's rows come out as the ORM reads them: every type
converted the same way on either database, fields not selected left deferred."""

import pytest
from django.contrib.auth.models import User

from core import rows
from labeling.models import Assignment, Project
from tests.factories import claim, client_for, queued_clip

pytestmark = pytest.mark.django_db


def _values(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _read(model, names=None):
    table = model._meta.db_table
    found = rows.fetch(f"SELECT {rows.columns_sql(model, 't', names)}, 'after' FROM {table} t", [])
    assert len(found) == 1
    return rows.instance(model, found[0], names), found[0][-1]


def test_every_type_comes_back_as_the_orm_reads_it(annotator, subject):
    queued_clip(subject)
    assignment_id = claim(client_for(annotator))["id"]
    Assignment.objects.filter(pk=assignment_id).update(draft={"text": "turn on the", "entities": []})
    Project.objects.update(intents=["lights", "music"], flags=["noise"])
    for model in (Assignment, Project):  # uuids, datetimes, booleans, JSON, floats, nulls
        read, after = _read(model)
        assert _values(read) == _values(model.objects.get()) and after == "after"
        assert not read._state.adding and read._state.db == "default"


def test_the_user_of_every_request_is_the_one_the_orm_reads_with_their_roles(annotator, supervisor):
    from config.security import user_with_roles
    from labeling.auth import ANNOTATOR, SUPERVISOR, has_role

    for user, role in ((annotator, ANNOTATOR), (supervisor, SUPERVISOR)):
        User.objects.filter(pk=user.pk).update(first_name="Ada", is_staff=True)
        read = user_with_roles(user.pk)
        assert _values(read) == _values(User.objects.get(pk=user.pk)) and read.last_login == user.last_login
        assert has_role(read, role) and not has_role(read, {ANNOTATOR: SUPERVISOR, SUPERVISOR: ANNOTATOR}[role])
    assert user_with_roles(10**9) is None and user_with_roles("not a number") is None


def test_fields_left_out_are_deferred_and_names_keep_the_models_order(annotator, subject):
    queued_clip(subject)
    assignment_id = claim(client_for(annotator))["id"]
    read, _ = _read(Assignment, ("lease_expires_at", "id", "state"))  # not in the model's order
    stored = Assignment.objects.get()
    assert (str(read.id), read.state, read.lease_expires_at) == (assignment_id, stored.state, stored.lease_expires_at)
    assert "draft" in read.get_deferred_fields() and "lease_expires_at" not in read.get_deferred_fields()
    assert read.annotator_id == stored.annotator_id  # a deferred field is read when touched


def test_a_name_the_model_does_not_have_is_refused():
    with pytest.raises(ValueError, match="no concrete field"):
        rows.columns_sql(Assignment, "a", ("id", "no_such_field"))
