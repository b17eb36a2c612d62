"""The pure core of cwl-pipeline: bytes and config in, values out; no I/O, no asyncio."""
