"""The training settings form's model without Qt (`rbm_studio.studio.settings_form`): which
fields each kind shows, the config their values make, where each problem is said, presets and
"train for"."""

from __future__ import annotations

from dataclasses import replace

from rbm_studio.models import registry
from rbm_studio.models.base import COMMON_SETTINGS, Setting
from rbm_studio.studio import settings_form as form
from rbm_studio.studio.settings_form import SettingsForm


def test_fields_come_from_the_registry_common_first_then_the_kinds_own():
    common = form.common_settings()
    assert [s.name for s in common] == [s.name for s in COMMON_SETTINGS if s.form]
    for kind in registry.KINDS.values():
        own = form.kind_settings(kind.name)
        assert all(s.form for s in own)
        assert {s.name for s in own}.isdisjoint(s.name for s in COMMON_SETTINGS)
        hidden = {s.name for s in kind.settings if not s.form}
        assert hidden.isdisjoint(s.name for s in own)  # CLI-only knobs stay off the form
    assert [c.value for c in form.kind_choices()] == list(registry.KINDS)
    presets = form.preset_choices("rbm")
    assert [c.value for c in presets[:-1]] == [p.name for p in registry.presets("rbm")]
    assert presets[-1].value == form.CUSTOM


def test_switching_kind_swaps_only_the_kinds_own_fields():
    model = SettingsForm()
    gone, added = model.show_kind("rbm")
    assert gone == [] and "window" in model.settings and "pcd" in model.settings
    assert model.show_kind("rbm") is None  # already shown
    gone, added = model.show_kind("rnn-rbm")
    assert "window" in gone and "window" not in model.settings
    assert {s.name for s in added} == {s.name for s in form.kind_settings("rnn-rbm")}
    assert "recurrent_hidden" in model.settings and "hidden" in model.settings
    assert model.kind == "rnn-rbm"


def test_values_make_a_config_that_keeps_what_the_form_does_not_show():
    model = SettingsForm()
    base = registry.default_config("rbm", stride=3)  # stride is not on the form
    assert model.load(base) is base
    config = model.config("rbm", {"hidden": 40, "patience": None})
    assert (config.hidden, config.stride, config.patience) == (40, 3, None)
    unknown = replace(base, model="lstm")
    assert model.load(unknown) == registry.default_config()  # the default kind's defaults


def test_problems_are_said_under_the_field_they_name():
    model = SettingsForm()
    model.show_kind("rbm")
    config = model.load(registry.default_config("rbm", hidden=0, window=0))
    problems = model.check(config)
    assert problems.all == registry.check_config(config) and len(problems.all) == 2
    assert set(problems.by_field) == {"hidden", "window"} and problems.general == []
    model.show_kind("rnn-rbm")
    bad = registry.default_config("rnn-rbm", sequence_length=1)
    assert list(model.check(bad).by_field) == ["sequence_length"]
    # A kind the registry does not know is said below the form.
    routed = form.route_problems(["Model must be one of rbm, not 'x'."], model.settings)
    assert routed.general and not routed.by_field


def test_field_of_reads_labels_and_names_longest_first():
    settings = {
        "momentum_start": Setting("momentum_start", "Momentum (start)", ""),
        "momentum_end": Setting("momentum_end", "Momentum (end)", ""),
        "transpose": Setting("transpose", "Transpositions", ""),
        "hidden": Setting("hidden", "Hidden units", ""),
    }
    assert form.field_of("Momentum start must be below 1.", settings) == "momentum_start"
    assert form.field_of("momentum_end is too big", settings) == "momentum_end"
    assert form.field_of("Transposition must be 0 or more.", settings) == "transpose"
    assert form.field_of("Hidden units must be between 1 and 9.", settings) == "hidden"
    assert form.field_of("Hiddenness is not a word.", settings) is None  # not a whole word
    assert form.field_of("Model must be one of rbm.", settings) == "model"
    assert form.message_prefixes("momentum_start", "Momentum (start)") >= {
        "momentum (start)",
        "momentum start",
        "momentum_start",
    }


def test_presets_and_train_for_are_views_on_the_same_values():
    rbm = registry.default_config("rbm")
    first = registry.presets("rbm")[0].name
    assert form.first_preset("rbm") == registry.preset_config("rbm", first)
    choices = form.musical_choices(form.first_preset("rbm"))
    assert choices.preset == first and choices.improving == (rbm.patience is not None)
    custom = form.musical_choices(replace(form.first_preset("rbm"), hidden=77))
    assert custom.preset == form.CUSTOM and custom.preset_tooltip.endswith("Advanced settings).")

    timed = form.train_for_values(rbm, form.FOR_TIME, 0.0)
    assert timed == {"patience": None, "minutes": form.DEFAULT_MINUTES}
    assert form.train_for_values(rbm, form.FOR_TIME, 2.5)["minutes"] == 2.5
    back = form.train_for_values(replace(rbm, patience=None), form.UNTIL_BETTER, 0.0)
    assert back == {"patience": registry.kind("rbm").defaults["patience"], "minutes": None}
    kept = form.train_for_values(replace(rbm, patience=7), form.UNTIL_BETTER, 3.0)
    assert kept == {"patience": 7, "minutes": 3.0}
    by_time = form.musical_choices(replace(rbm, patience=None, minutes=4.0))
    assert (by_time.improving, by_time.minutes, by_time.minutes_caption) == (False, 4.0, "For:")


def test_field_ranges_let_the_checks_explain_and_fit_a_c_int():
    hidden = next(s for s in COMMON_SETTINGS if s.name == "hidden")
    minutes = next(s for s in COMMON_SETTINGS if s.name == "minutes")
    seed = Setting("seed", "Seed", "", minimum=-(2**40), maximum=2**40)
    assert form.field_range(hidden) == (0, 1_000_000)
    assert form.field_range(minutes) == (0, 1e5)  # optional: 0 is "none"
    assert form.field_range(seed) == (-form.INT_LIMIT, form.INT_LIMIT)
