"""AnalyzeAttributes: study a table's profile before any code is written."""

import dspy


class AnalyzeAttributes(dspy.Signature):
    """You study a table of items that people rated, to prepare writing a scoring function.

    Each item has numeric attributes that people annotated and an overall human judgment (the
    target). You see a profile computed from the rows you may use: each attribute's range and
    spread, its Spearman rank correlation with the target, the target's mean in quantile bins of
    the attribute (a bend or plateau there means a non-linear effect), the strongest correlations
    between attributes, and a few example rows.

    Write a short analysis for the person who will write `score(attrs) -> float`, whose ranking of
    new items must agree with the human ranking: which attributes drive the judgment and in which
    direction, which effects look non-linear (thresholds, saturation, penalties for very low
    values), which attributes overlap or interact, and which look useless or suspicious. Ground
    every claim in the numbers of the profile; say when evidence is weak because there are few
    rows. Do not write code.
    """

    description: str = dspy.InputField(desc="what is judged, in the words of the table's owner")
    attribute_schema: str = dspy.InputField(desc="the attribute columns: meaning and range")
    profile: str = dspy.InputField(desc="statistics of the rows available for fitting")
    analysis: str = dspy.OutputField(
        desc="a concise analysis, at most 6 short bullet points (about 120 words): drivers, "
        "directions, non-linearities, interactions, attributes to ignore"
    )
