"""Remote engines: clients of inference servers reached over HTTP.

``pool`` spreads one engine's requests over its URLs (least outstanding requests, weighted),
retries on another URL with back-off (tenacity), and takes a failing URL out of rotation
(``breaker``) until a health probe says it is back. ``provider``, ``gpt_sovits`` and ``openai``
speak the wire formats; ``wire`` decodes what they send back, and ``urls`` decides which
addresses may be called at all.
"""
