"""WriteScoringFunction: turn the analysis (and earlier attempts' feedback) into code."""

import dspy


class WriteScoringFunction(dspy.Signature):
    """Write a Python scoring function that ranks items the way people judged them.

    Contract: define `def score(attrs):` where `attrs` is a dict mapping each attribute name in
    the schema to a float; return one float; higher means better according to the people. Only the
    ranking of the outputs matters (quality is measured by Spearman rank correlation with the human
    judgment on items you never see), so scale and offset are free. The human judgment itself is
    never an input.

    Allowed syntax (anything else is rejected before it runs): arithmetic, comparisons, `and/or/
    not`, `if/elif/else` and conditional expressions, local variables, `for` loops over `attrs`,
    a literal list or tuple, a dict's `.items()/.keys()/.values()` or `range(...)`,
    comprehensions, `attrs["name"]` and `attrs.get("name", default)`, helper functions, `import
    math` and `math.*`, and the builtins abs, all, any, bool, dict, enumerate, float, int,
    isinstance, len, list, max, min, pow, range, reversed, round, sorted, str, sum, tuple, zip.
    Not allowed: other imports, while loops, lambda, classes, attribute access other than math.*
    and the dict methods, names starting with an underscore, printing, file or environment access.

    Declared constants: put every tunable number in one module-level dict
    `PARAMS = {"w_light": 0.3, ...}` of names to number literals and use `PARAMS["w_light"]`
    inside `score`. The numbers are fitted to the data automatically, so choose a good *form*:
    write the score as a sum of terms, each multiplied by its own weight,
    `PARAMS["w_a"] * term_a + PARAMS["w_b"] * term_b + ...`; such weights are fitted exactly.
    Start each weight with the sign the prior gives (negative when lower is better).
    Terms to choose from, each readable:
    - `attrs["x"]` (a straight effect);
    - `min(attrs["x"], PARAMS["c_x"])` (gains level off above c: saturating);
    - `max(attrs["x"] - PARAMS["c_x"], 0)` (matters only above c: threshold);
    - `(attrs["x"] - PARAMS["c_x"]) ** 2` with a negative weight (a middle value is best: peak);
    - `math.log1p(attrs["x"])` for a positive attribute with diminishing returns;
    - `attrs["x"] * attrs["y"]` (two attributes that reinforce each other).
    Use at most about one term per attribute plus two or three non-linear terms, and at most two
    shape constants (`c_...`) in all.

    Prefer short, readable functions: a reviewer must be able to audit the reward. Guard
    divisions, logarithms and powers against zero or negative values. When earlier attempts are
    given, read their feedback and fix what it says; change the form when the score stalled.
    """

    attribute_schema: str = dspy.InputField(desc="the attribute columns: meaning and range")
    analysis: str = dspy.InputField(desc="the analysis of which attributes drive the judgment")
    previous_attempts: str = dspy.InputField(
        desc="earlier functions with their scores and feedback; empty on the first attempt"
    )
    code: dspy.Code = dspy.OutputField(
        desc="complete Python source defining PARAMS (optional) and def score(attrs)"
    )
