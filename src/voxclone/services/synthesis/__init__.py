"""Text to speech in a stored voice, as a pipeline of small steps:
plan → admit → cache → route → render → record (``service.SynthesisService`` runs them)."""

from voxclone.services.synthesis.admit import Admission, RateState
from voxclone.services.synthesis.cache import SynthesisCache
from voxclone.services.synthesis.plan import Plan, Planner
from voxclone.services.synthesis.record import Recorder, SynthesisAct
from voxclone.services.synthesis.render import ProgressSink, Renderer
from voxclone.services.synthesis.route import Router
from voxclone.services.synthesis.service import JobCancelled, SynthesisService

__all__ = [
    "Admission",
    "JobCancelled",
    "Plan",
    "Planner",
    "ProgressSink",
    "RateState",
    "Recorder",
    "Renderer",
    "Router",
    "SynthesisAct",
    "SynthesisCache",
    "SynthesisService",
]
