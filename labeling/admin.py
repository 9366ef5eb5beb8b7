"""Admin: teams with their work rules, projects with their label schema and members. Clips,
transcripts and escalations are not shown here; they are reached through the supervisors' pages,
which record every access."""

from django import forms
from django.contrib import admin

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
