"""The built-in datasets: where their files are and what their columns mean.

Everything here is transcribed from each dataset's ``builtin/<name>/PROVENANCE.md``; the CSV
values themselves are shipped unchanged. Attribute lists are not repeated for the loader: it infers
them (every numeric column but id, target and split) and a test checks that they equal the keys of
``attributes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BUILTIN_DIR = Path(__file__).parent / "builtin"


@dataclass(frozen=True)
class BuiltinSpec:
    name: str
    files: tuple[str, ...]
    id_column: str
    target: str
    target_note: str
    description: str
    attributes: dict[str, str]          # attribute -> meaning and scale
    license: str                        # short; PROVENANCE.md has the full text
    split: str                          # how the split column was made
    split_column: str = "split"
    # When true, the files are one split each (train.csv, test.csv) and the split column is made
    # from each file's stem at load time.
    split_by_file: bool = False
    ignored: tuple[str, ...] = field(default=())  # non-numeric columns that are not inputs

    def paths(self) -> list[Path]:
        return [BUILTIN_DIR / self.name / f for f in self.files]


def _votes(what: str) -> str:
    return f"{what}: mean rater vote, -1 (hurts) to +1 (helps)"


def _fed(what: str, top: int = 2) -> str:
    return f"how {what} the response is; mean of 5 crowd workers' ratings, 0..{top}"


_SPAQ_SCALE = "mean human rating, 0..100, higher is better"

CATALOG: dict[str, BuiltinSpec] = {
    spec.name: spec
    for spec in (
        BuiltinSpec(
            name="seed",
            files=("train.csv", "test.csv"),
            id_column="filename",
            target="human_score",
            target_note="the author's overall aesthetic score, 0..10",
            description=(
                "Photographs scored for aesthetics by one person (the seed notebook's author): an "
                "overall score and four attribute scores per photo."
            ),
            attributes={
                "composition": "the author's score for composition, integer 1..10",
                "subject_focus": "the author's score for how well the subject stands out, "
                                 "integer 1..10",
                "lighting": "the author's score for lighting, integer 1..10",
                "color_palette": "the author's score for the colour palette, integer 1..10",
            },
            license="MIT",
            split="notebook's own",
            split_by_file=True,
            ignored=("comment",),
        ),
        BuiltinSpec(
            name="aadb",
            files=("aadb.csv",),
            id_column="image_id",
            target="human_score",
            target_note="overall aesthetic score: mean of raters' 1-5 ratings rescaled to 0..1",
            description=(
                "Flickr photographs rated for aesthetics by several people each (AADB, Kong et "
                "al., ECCV 2016): an overall score and votes on 11 photographic attributes. For "
                "each attribute every rater voted -1 (it hurts the photo), 0 (neutral) or +1 (it "
                "helps); the values are the mean vote, mostly multiples of 0.2."
            ),
            attributes={
                "balancing_elements": _votes("balanced arrangement of elements"),
                "color_harmony": _votes("harmonious colours"),
                "content": _votes("interesting content"),
                "depth_of_field": _votes("shallow depth of field"),
                "light": _votes("good lighting"),
                "motion_blur": _votes("motion blur"),
                "object_emphasis": _votes("emphasis on the main object"),
                "repetition": _votes("repeated patterns") + " (only >= 0 in the data)",
                "rule_of_thirds": _votes("rule of thirds"),
                "symmetry": _votes("symmetry") + " (only >= 0 in the data)",
                "vivid_color": _votes("vivid colours"),
            },
            license="research use only (no licence stated)",
            split="official train/val/test",
        ),
        BuiltinSpec(
            name="spaq",
            files=("spaq.csv",),
            id_column="image_id",
            target="human_score",
            target_note="mean opinion score of overall image quality, 0..100",
            description=(
                "Smartphone photographs rated for perceptual quality (not aesthetics) in a lab "
                "study (SPAQ, Fang et al., CVPR 2020): a mean opinion score and five attribute "
                "ratings per photo."
            ),
            attributes={
                "brightness": f"brightness, {_SPAQ_SCALE}",
                "colorfulness": f"colourfulness, {_SPAQ_SCALE}",
                "contrast": f"contrast, {_SPAQ_SCALE}",
                "noisiness": f"noisiness, {_SPAQ_SCALE} (high = little visible noise)",
                "sharpness": f"sharpness, {_SPAQ_SCALE}",
            },
            license="educational and research use only",
            split="random 80/20 seed 0",
        ),
        BuiltinSpec(
            name="wine_quality",
            files=("wine_quality.csv",),
            id_column="wine_id",
            target="human_score",
            target_note="sensory quality, median of at least 3 wine experts' grades, integer 0..10",
            description=(
                "Red and white Vinho Verde wines graded for taste by wine experts (Cortez et al., "
                "2009). The attributes are laboratory measurements in physical units, not human "
                "ratings."
            ),
            attributes={
                "fixed_acidity": "lab measurement, g(tartaric acid)/dm3",
                "volatile_acidity": "lab measurement, g(acetic acid)/dm3",
                "citric_acid": "lab measurement, g/dm3",
                "residual_sugar": "lab measurement, g/dm3",
                "chlorides": "lab measurement, g(sodium chloride)/dm3",
                "free_sulfur_dioxide": "lab measurement, mg/dm3",
                "total_sulfur_dioxide": "lab measurement, mg/dm3",
                "density": "lab measurement, g/cm3",
                "pH": "lab measurement, pH units",
                "sulphates": "lab measurement, g(potassium sulphate)/dm3",
                "alcohol": "lab measurement, % by volume",
            },
            license="CC BY 4.0 (per UCI)",
            split="random 80/20 seed 0",
            ignored=("wine_type",),
        ),
        BuiltinSpec(
            name="fed_turn",
            files=("fed_turn.csv",),
            id_column="item_id",
            target="human_score",
            target_note="mean overall rating of 5 crowd workers, 0..4",
            description=(
                "Responses of chatbots (Meena, Mitsuku) and people within dialogues, rated by "
                "crowd workers (FED, Mehri and Eskenazi, SIGDIAL 2020): an overall quality rating "
                "and eight qualities per response."
            ),
            attributes={
                "interesting": _fed("interesting"),
                "engaging": _fed("engaging"),
                "specific": _fed("specific"),
                "relevant": _fed("relevant"),
                "correct": _fed("correct"),
                "semantically_appropriate": _fed("semantically appropriate"),
                "understandable": _fed("understandable", top=1),
                "fluent": _fed("fluent"),
            },
            license="none stated",
            split="random 80/20 seed 0",
            ignored=("system",),
        ),
    )
}
