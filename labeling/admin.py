"""Admin: teams with their work rules, projects with their label schema and members, versions of
the review policy. Clips, transcripts and escalations are not shown here; they are reached through
the supervisors' pages, which record every access."""

from django import forms
from django.contrib import admin, messages

from consent.models import PolicyVersion
from core.errors import ApplicationError
from labeling.custody.services import policy_publish
from labeling.models import FlagCategory, Project, ProjectMember, Team, TeamMember


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 1
    autocomplete_fields = ["user"]


class TeamForm(forms.ModelForm):
    muted_start_categories = forms.MultipleChoiceField(
        choices=FlagCategory.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Clips flagged with these start quietly and fade in on the annotator page (annotators may "
                  "turn this off, or on for every clip).")

    class Meta:
        model = Team
        fields = "__all__"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ["name", "max_shift_minutes", "max_clips_per_shift", "break_after_minutes", "break_minutes",
                    "min_claim_interval_seconds", "flag_break_minutes", "exposure_budget_minutes"]
    search_fields = ["name"]
    inlines = [TeamMemberInline]


class ProjectMemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "locale", "sample_rate", "clip_quota", "gold_share", "agreement_share"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "locale", "sample_rate", "intents", "entity_types", "flags", "clip_quota",
              "gold_share", "agreement_share", "agreement_max_difference"]
    inlines = [ProjectMemberInline]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    """Versions are written as drafts and published with the action; a published version is shown
    read-only and cannot be removed (the database refuses a change too): a change is a new version,
    and every version owners agreed to stays."""

    list_display = ["version", "material", "published_at", "number", "created_by", "created_at"]
    fields = ["version", "material", "text", "published_at", "created_by", "created_at"]
    readonly_fields = ["published_at", "created_by", "created_at"]
    actions = ["publish"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or not obj.published)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not obj.published)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, so that a published version is never among them
        return actions

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Publish the selected drafts (a material one needs every owner's confirmation)",
                  permissions=["change"])
    def publish(self, request, queryset):
        for policy in queryset.order_by("created_at"):
            try:
                published = policy_publish(policy_id=policy.pk)
            except ApplicationError as exc:
                self.message_user(request, f"{policy.version}: {exc.message}", messages.ERROR)
            else:
                note = (" Owners' earlier consent no longer counts for human review until they confirm it."
                        if published.material else "")
                self.message_user(request, f"Version {published.version} is now the current policy.{note}",
                                  messages.SUCCESS)
