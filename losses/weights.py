"""White-box's objective is a weighted sum of the terms in this package; the weights are train.py's flags:

    L_G = w0·tv + w1·surface + w2·texture + w3·content + w4·structure + w5·landmark + w6·anchor
          + w7·shading + w8·lines + w9·flatness

Defaults are White-box's ``train.py`` values (the landmark term is this project's, 1 by default; the style anchor,
for fine-tuning a released model, and its three guards are off by default).
"""
import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class LossWeights:
    tv: float = 1e4
    surface: float = 1e-1
    texture: float = 1.0
    content: float = 2e2
    structure: float = 2e2
    landmark: float = 1.0
    anchor: float = 0.0
    shading: float = 0.0
    lines: float = 0.0
    flatness: float = 0.0

    @property
    def holds_to_start(self) -> bool:
        """The style anchor or one of its guards is on: the untouched starting model's output is needed."""
        return self.anchor > 0 or self.shading > 0 or self.lines > 0 or self.flatness > 0

    def weigh(self, raw: dict) -> dict:
        """{term: w·value} for the terms present in ``raw``."""
        return {name: getattr(self, name) * value for name, value in raw.items()}

    @classmethod
    def from_flags(cls, opts) -> "LossWeights":
        """From parsed --w0 … --w9 (an argparse Namespace, or anything with those attributes)."""
        return cls(**{field: getattr(opts, flag) for flag, field in FLAGS.items()})


# flag -> (field, what it weighs); the order of White-box's flags, w0 … w4, then this project's terms
FLAGS = {"w0": "tv", "w1": "surface", "w2": "texture", "w3": "content", "w4": "structure", "w5": "landmark",
         "w6": "anchor", "w7": "shading", "w8": "lines", "w9": "flatness"}
HELP = {
    "tv": "total variation",
    "surface": "surface: LSGAN on the guided-filter blur (3-channel D)",
    "texture": "texture: LSGAN on the random colour-shift grayscale (1-channel D)",
    "content": "content: VGG19 conv4_4 L1 between photo and output",
    "structure": "structure: VGG19 conv4_4 L1 between superpixel(output) and output",
    "landmark": "landmark: heatmap-weighted edge L1 around the 68 dlib landmarks, or the distance between a landmark "
                "reader's points on output and photo (--landmark_view)",
    "anchor": "style anchor: L1 between G's output and the untouched starting model's, same photo",
    "shading": "shading guard: pixel differences G adds where the untouched starting model has none (flatness)",
    "lines": "line guard: pixel differences of the untouched starting model that G takes away (ink lines)",
    "flatness": "flatness guard: G's Sobel response above half the flat share's threshold where the untouched "
                "starting model is flat (losses/flatness.py)",
}
DEFAULTS = {field.name: field.default for field in dataclasses.fields(LossWeights)}
