"""Scripted replies for the deterministic test LM; importable from subprocesses too."""

from rewardsmith.lm import output_fields

GENERIC_CODE = '''import math
PARAMS = {"scale": 1.0}
def score(attrs):
    """Sum of all attributes, a form that runs on any table."""
    total = sum(attrs.values())
    return PARAMS["scale"] * total
'''


def make_responder(code=GENERIC_CODE, analysis="The attributes rise with the judgment.",
                   prior=None):
    """A responder answering each DSPy signature by its output fields.

    ``code`` may be a string or a list of strings served in turn (the last one repeats).
    ``prior`` maps attribute names to a direction ("higher"/"lower"/"none") or to a full belief
    dict; the prior step answers with those beliefs (none at all when ``prior`` is None).
    """
    codes = list(code) if isinstance(code, (list, tuple)) else [code]
    state = {"i": 0}

    def respond(prompt):
        fields = output_fields(prompt)
        if fields == ["analysis"]:
            return {"analysis": analysis}
        if fields == ["beliefs"]:
            return {"beliefs": beliefs(prior or {})}
        if fields == ["code"]:
            text = codes[min(state["i"], len(codes) - 1)]
            state["i"] += 1
            return {"code": text if isinstance(text, str) else text}
        # Optimizer prompts (GEPA reflection, MIPRO proposals): answer every field with an
        # instruction-like text.
        return {name: "Write a short weighted sum of the attributes that matter most."
                for name in fields} or "```\nWrite a short weighted sum of the attributes.\n```"

    return respond


def beliefs(prior: dict) -> list[dict]:
    """The prior step's JSON answer for ``{attribute: direction or belief dict}``."""
    answer = []
    for name, entry in prior.items():
        entry = {"direction": entry} if isinstance(entry, str) else dict(entry)
        answer.append({"attribute": name, "direction": entry["direction"],
                       "importance": entry.get("importance", 2),
                       "shape": entry.get("shape", "linear")})
    return answer
