"""The X-Ray daemon's UDP protocol in front of the trace topic (``cwlpipe xray-listen``).

:mod:`consumers.xray.listener` receives, :mod:`consumers.xray.queue` holds
what Kafka has not acknowledged yet within a byte bound, and
:mod:`consumers.xray.accounting` keeps the books every datagram is counted in.
"""
