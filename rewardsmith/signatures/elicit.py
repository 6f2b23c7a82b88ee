"""ElicitPrior: what the language model knows about each attribute before seeing any row.

The answer is typed (Literal enums inside a list of small objects) so that JSON-constrained decoding
keeps even a 1.5B model inside the allowed words. The 1.5B model is sensitive to this form: asked
for one word per attribute from a scale of seven ("higher is much better" ...), or for objects
without the shape field and with shapes in a separate dict, it answered "higher" for every
attribute of wine and SPAQ; in this form it said "lower" for volatile acidity, chlorides and pH
and for SPAQ's noisiness. It sees the description and the schema only,
never the profile: a prior copied from the fit rows' correlations would count the same evidence
twice and make cross-validation trust it for the wrong reason.
"""

from typing import Literal

import dspy
import pydantic


class AttributeBelief(pydantic.BaseModel):
    attribute: str
    direction: Literal["higher", "lower", "none"]
    importance: Literal[1, 2, 3]
    shape: Literal["linear", "saturating", "threshold", "peak"] = "linear"


class ElicitPrior(dspy.Signature):
    """You know the domain. For every attribute in the schema, say how it affects the overall
    judgment people give, from what the attribute means (no data is shown):

    - direction: "higher" if a higher value makes the item better, "lower" if worse, "none" if it
      should not matter;
    - importance: 3 = a main driver, 2 = a clear effect, 1 = a minor effect;
    - shape: "linear"; "saturating" (gains level off at high values); "threshold" (matters only
      below or above some value); "peak" (a middle value is best, both extremes are bad).

    Answer with one entry per attribute, using the attribute names exactly as written.
    """

    description: str = dspy.InputField(desc="what is judged, in the words of the table's owner")
    attribute_schema: str = dspy.InputField(desc="the attribute columns: meaning and range")
    beliefs: list[AttributeBelief] = dspy.OutputField(desc="one entry per attribute")
