"""Prometheus view of the pipeline's counters, read at scrape time.

The hot path keeps plain integer counters (pipeline.stats, writer, events); incrementing a
labelled Prometheus counter per message would cost more than the message. A collector
copies them into metric families when /metrics is scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from argosy.services.market_data.events import MarketEvents
from argosy.services.market_data.pipeline import Pipeline
from argosy.services.market_data.writer import SeriesWriter

__all__ = ["register_metrics"]


class _MarketCollector(Collector):
    def __init__(self, service: str, pipeline: Pipeline, writer: SeriesWriter,
                 events: MarketEvents, feeds: Callable[[], dict[str, Any]]) -> None:
        self.service, self.pipeline, self.writer, self.events = service, pipeline, writer, events
        self.feeds = feeds

    def collect(self) -> Iterator[Any]:
        st = self.pipeline.stats
        accepted = CounterMetricFamily("argosy_md_accepted", "Messages accepted by kind",
                                       labels=["service", "kind"])
        for kind, value in (("trade", st.trades), ("quote", st.quotes), ("delta", st.deltas),
                            ("bar", st.bars), ("exchange_bar", st.exchange_bars),
                            ("snapshot", st.snapshots)):
            accepted.add_metric([self.service, kind], value)
        yield accepted
        rejected = CounterMetricFamily("argosy_md_rejected", "Messages rejected by reason",
                                       labels=["service", "reason"])
        for reason, value in st.rejected.items():
            rejected.add_metric([self.service, reason], value)
        yield rejected
        written = CounterMetricFamily("argosy_md_rows_written", "Rows stored by table",
                                      labels=["service", "table"])
        for table, value in self.writer.written.items():
            written.add_metric([self.service, table], value)
        yield written
        dropped = CounterMetricFamily("argosy_md_dropped", "Rows or messages dropped",
                                      labels=["service", "where"])
        dropped.add_metric([self.service, "storage"], self.writer.dropped)
        dropped.add_metric([self.service, "bus"], self.events.dropped)
        yield dropped
        buffered = GaugeMetricFamily("argosy_md_buffered_rows", "Rows waiting for the tsdb",
                                     labels=["service"])
        buffered.add_metric([self.service], self.writer.pending())
        yield buffered
        frames = CounterMetricFamily("argosy_md_feed_frames", "Frames per Binance market",
                                     labels=["service", "market", "counter"])
        for market, stats in self.feeds().items():
            for name in ("frames", "connects", "disconnects", "stale", "backfilled",
                         "sequence_gaps", "syncs"):
                frames.add_metric([self.service, market, name], stats.get(name, 0))
        yield frames
        malformed = CounterMetricFamily("argosy_md_feed_malformed",
                                        "Exchange frames skipped as malformed, by kind",
                                        labels=["service", "market", "kind"])
        for market, stats in self.feeds().items():
            for kind, value in stats.get("malformed", {}).items():
                malformed.add_metric([self.service, market, kind], value)
        yield malformed


def register_metrics(registry: CollectorRegistry, service: str, pipeline: Pipeline,
                     writer: SeriesWriter, events: MarketEvents,
                     feeds: Callable[[], dict[str, Any]]) -> None:
    registry.register(_MarketCollector(service, pipeline, writer, events, feeds))
