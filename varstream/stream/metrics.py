"""Prometheus metrics of ``varstream serve`` (prometheus-client, one registry per application).

Names follow the Prometheus conventions: ``_total`` counters, ``_seconds`` histograms in base
units. Latency buckets span 5 ms to 60 s: featurising one curve takes tens of milliseconds, a
batch of due stars up to seconds, and the cost policy may hold a star for ``max_delay_s``.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

from varstream.stream.effects import Effects

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
STAGE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STAGES = ("decode", "state", "features", "inference", "produce", "commit")


class StreamMetrics:
    """Every metric of one stream application, registered in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.alerts = Counter("varstream_alerts_consumed_total", "Alert messages consumed.", registry=r)
        self.observations = Counter("varstream_observations_accepted_total",
                                    "Observations added to (or improving) a star's state.", registry=r)
        self.duplicates = Counter("varstream_observations_duplicate_total",
                                  "Observations already in the state (re-sent alerts); they change nothing.",
                                  registry=r)
        self.points_dropped = Counter("varstream_points_dropped_total",
                                      "Bad earlier observations (prev_sources) dropped from otherwise good alerts.",
                                      ["reason"], registry=r)
        self.dead_letters = Counter("varstream_dead_letters_total", "Alerts sent to the dead-letter topic.",
                                    ["reason"], registry=r)
        self.published = Counter("varstream_classifications_published_total",
                                 "Classifications delivered to the output topic.", registry=r)
        self.skipped = Counter("varstream_classifications_skipped_total",
                               "Reclassifications that produced no classification (e.g. too few points).",
                               ["reason"], registry=r)
        self.triggers = Counter("varstream_reclassifications_total",
                                "Stars reclassified, by the policy rule that made them due.", ["trigger"], registry=r)
        self.searches = Counter("varstream_period_searches_total",
                                "Period searches of reclassifications: 'fast' refined near the last full search's "
                                "candidates, 'full' scanned the whole grid, 'fallback' tried the fast path and then "
                                "searched fully because the old period no longer fitted.", ["path"], registry=r)
        self.latency = Histogram("varstream_end_to_end_latency_seconds",
                                 "From an alert entering the input topic (its Kafka timestamp) to the delivery of "
                                 "the first classification that includes it; 'newest' is the triggering alert, "
                                 "'oldest' the longest-waiting alert the classification newly includes.",
                                 ["alert"], buckets=LATENCY_BUCKETS, registry=r)
        self.stage = Histogram("varstream_stage_seconds", "Time spent per stage (decode and state per alert, "
                               "features per star, inference per batch, produce and commit per poll batch).",
                               ["stage"], buckets=STAGE_BUCKETS, registry=r)
        self.lag = Gauge("varstream_consumer_lag", "Alerts in the input topic not yet consumed, per partition.",
                         ["partition"], registry=r)
        self.stars = Gauge("varstream_stars", "Stars in the local state.", registry=r)
        self.unclassified = Gauge("varstream_unclassified_stars",
                                  "Stars whose observations (or catalogue data) are not yet classified.", registry=r)
        self.unsettled = Gauge("varstream_unsettled_stars",
                               "Stars classified by the fast path whose exact (full-search) classification is "
                               "still to come.", registry=r)
        self.partitions = Gauge("varstream_assigned_partitions", "Input partitions assigned to this consumer.",
                                registry=r)
        self.restored = Counter("varstream_restored_records_total", "Changelog records replayed into the state.",
                                registry=r)
        self.restore_seconds = Histogram("varstream_restore_seconds", "Time to restore one partition's state.",
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.model = Info("varstream_model", "The classifier that serves (name, version, sha256).", registry=r)
        self.trained_prior = Gauge("varstream_trained_prior",
                                   "The class mix the shipped classifier's probabilities assume (its card's "
                                   "output prior), per class.", ["class"], registry=r)
        self.survey_prior = Gauge("varstream_survey_prior",
                                  "The served survey's class mix estimated by EM from this process's latest "
                                  "classification of each star (Saerens et al. 2002), per class; absent until "
                                  "enough stars are classified.", ["class"], registry=r)
        self.survey_prior_stars = Gauge("varstream_survey_prior_stars",
                                        "Stars the survey prior estimate is made from.", registry=r)

    def report_prior(self, survey_prior) -> None:
        """The trained and estimated priors of a :class:`~varstream.stream.survey_prior.SurveyPrior`."""
        for c, v in zip(survey_prior.classes, survey_prior.base):
            self.trained_prior.labels(c).set(float(v))
        if survey_prior.estimate is not None:
            for c, v in zip(survey_prior.classes, survey_prior.estimate):
                self.survey_prior.labels(c).set(float(v))
        self.survey_prior_stars.set(survey_prior.stars)

    def apply(self, effects: Effects) -> None:
        """Apply the metric changes of one execution of the science step (counter increments by
        attribute and label, stage timings)."""
        for (name, label), n in effects.counts.items():
            metric = getattr(self, name)
            (metric.labels(label) if label else metric).inc(n)
        for stage, seconds in effects.timings:
            self.stage.labels(stage).observe(seconds)

    def serve_http(self, port: int, address: str = "127.0.0.1") -> int:
        """Expose ``/metrics`` on ``address:port`` (0 picks a free port); returns the port."""
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        bound = int(server.server_address[1])
        log.info("metrics on http://%s:%d/metrics", address, bound)
        return bound


def initialise_labels(metrics: StreamMetrics, dead_letter_codes: tuple[str, ...], dropped_codes: tuple[str, ...],
                      triggers: tuple[str, ...]) -> None:
    """Create every labelled series at 0 before the first event: Prometheus's ``increase()`` and
    ``rate()`` see a series' first increment only if the series existed before it, so an alert on
    dead letters would otherwise miss the first of each reason, and a clean stream shows no data."""
    for code in dead_letter_codes:
        metrics.dead_letters.labels(code)
    for code in dropped_codes:
        metrics.points_dropped.labels(code)
    for trigger in triggers:
        metrics.triggers.labels(trigger)
    for path in ("fast", "full", "fallback"):
        metrics.searches.labels(path)
    metrics.skipped.labels("unusable_curve")
    for stage in STAGES:
        metrics.stage.labels(stage)
    for which in ("newest", "oldest"):
        metrics.latency.labels(which)
