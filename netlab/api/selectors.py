"""metav1.LabelSelector, shared by workloads and NetworkPolicy (apimachinery's
ValidateLabelSelector): matchLabels AND every matchExpression."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import StrictStr, model_validator

from netlab.api import names
from netlab.api.field import ProblemList, forbidden, invalid_value, required_value, unsupported_value
from netlab.api.labels import Requirement, Selector
from netlab.api.meta import ApiModel, Labels

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
# metav1.LabelSelectorRequirement operators as the `-l` selector grammar spells them.
_OPERATOR_WORDS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


class LabelSelectorRequirement(ApiModel):
    key: StrictStr
    operator: StrictStr
    values: list[StrictStr] = []

    @model_validator(mode="after")
    def _check(self) -> LabelSelectorRequirement:
        problems = ProblemList()
        for e in names.qualified_name_errors(self.key):
            problems.add(("key",), invalid_value(self.key, e))
        if self.operator not in SELECTOR_OPERATORS:
            problems.add(("operator",), unsupported_value(self.operator, SELECTOR_OPERATORS))
        elif self.operator in ("In", "NotIn") and not self.values:
            problems.add(("values",), required_value("must be specified when `operator` is 'In' or 'NotIn'"))
        elif self.operator in ("Exists", "DoesNotExist") and self.values:
            problems.add(("values",), forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        for i, value in enumerate(self.values):
            for e in names.label_value_errors(value):
                problems.add(("values", i), invalid_value(value, e))
        problems.raise_if_any()
        return self


class LabelSelector(ApiModel):
    """matchLabels AND every matchExpression; the empty selector selects everything."""

    matchLabels: Labels = {}
    matchExpressions: list[LabelSelectorRequirement] = []

    def selector(self) -> Selector:
        """As a `Selector`, its requirements sorted by key as upstream's LabelSelectorAsSelector."""
        requirements = [Requirement(k, "=", (v,)) for k, v in self.matchLabels.items()]
        requirements += [
            Requirement(e.key, _OPERATOR_WORDS[e.operator], tuple(sorted(e.values)))  # type: ignore[arg-type]
            for e in self.matchExpressions
        ]
        return Selector(tuple(sorted(requirements, key=lambda r: r.key)))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.selector().matches(labels)

    @property
    def empty(self) -> bool:
        return not self.matchLabels and not self.matchExpressions
