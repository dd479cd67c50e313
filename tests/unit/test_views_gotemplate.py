"""`-o go-template=` as the Kubernetes docs use it, through kubectl's JSONPath engine."""

from __future__ import annotations

import pytest

from netlab.errors import InvalidInput
from netlab.views.gotemplate import to_jsonpath
from netlab.views.printing import jsonpath_text, parse_output

PODS = {"kind": "List", "items": [{"status": {"podIP": "10.244.1.5"}}, {"status": {"podIP": "10.244.2.3"}}]}


def test_the_debug_services_template_lists_one_ip_a_line():
    fmt = parse_output('go-template={{range .items}}{{.status.podIP}}{{"\\n"}}{{end}}')
    assert fmt.kind == "jsonpath"
    assert jsonpath_text(fmt.argument, PODS) == "10.244.1.5\n10.244.2.3\n"


def test_fields_dot_and_text():
    assert to_jsonpath("ip={{.status.podIP}}") == "ip={.status.podIP}"
    assert to_jsonpath("{{range .items}}{{.}}{{end}}") == "{range .items[*]}{@}{end}"
    assert jsonpath_text(to_jsonpath("{ {{.a}} }"), {"a": 1}) == "{ 1 }"


@pytest.mark.parametrize("action", ["{{if .a}}x{{end}}", "{{printf \"%s\" .a}}", "{{index .a 0}}", "{{.a | len}}"])
def test_what_it_does_not_speak_is_refused_by_name(action):
    with pytest.raises(InvalidInput, match="go-template speaks range, end, field paths and string literals only"):
        to_jsonpath(action)
