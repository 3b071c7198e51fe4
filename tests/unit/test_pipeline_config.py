"""The pipeline settings a model card records: a lossless round trip, and a clear refusal of
settings another version wrote."""

import pytest

from varstream.lightcurve.period import PeriodSearchConfig
from varstream.lightcurve.pipeline import PipelineConfig, config_differences
from varstream.lightcurve.sanitize import SanitizeConfig


def test_settings_round_trip_through_the_card_form():
    config = PipelineConfig(sanitize=SanitizeConfig(max_error=0.5), period=PeriodSearchConfig(min_period=0.02),
                            ghkss_neighbours=9)
    assert PipelineConfig.from_dict(config.to_dict()) == config
    assert PipelineConfig.from_dict(PipelineConfig().to_dict()) == PipelineConfig()


def test_settings_of_another_version_are_refused_by_name():
    values = PipelineConfig().to_dict()
    values["period"]["retired_setting"] = 1.0
    with pytest.raises(ValueError, match="retired_setting") as err:
        PipelineConfig.from_dict(values)
    assert "PeriodSearchConfig" in str(err.value)
    del values["period"]["retired_setting"], values["ghkss_dim"]
    with pytest.raises(ValueError, match="ghkss_dim"):
        PipelineConfig.from_dict(values)


def test_differences_name_every_changed_setting_with_both_values():
    a = PipelineConfig()
    b = PipelineConfig(ghkss_neighbours=20, period=PeriodSearchConfig(harmonics=6))
    assert config_differences(a, b) == ["period.harmonics: 4 → 6", "ghkss_neighbours: 12 → 20"]
    assert config_differences(a, PipelineConfig()) == []
