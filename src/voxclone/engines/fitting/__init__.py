"""Fitting Kokoro to a reference speaker (the ``kokoro-fit`` voice recipe).

``fit.fit_voice`` makes the recipe; ``post.style_from_recipe`` and ``post.apply_post`` are what
the engine runs with it at synthesis time; ``reference.analyse_reference`` checks and measures
a reference clip.
"""

from voxclone.engines.fitting.fit import RECIPE_KIND, fit_voice, nearest_voice
from voxclone.engines.fitting.post import apply_post, style_from_recipe

__all__ = ["RECIPE_KIND", "apply_post", "fit_voice", "nearest_voice", "style_from_recipe"]
